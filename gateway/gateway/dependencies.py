"""The gateway is where personal data enters: an ID number is validated here and turned
into the protected form (person key, masked, sealed) before anything else sees it."""
import base64

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from common import config, identity
from common.batching import Coalescer
from common.correlation import CORRELATION_ID
from common.db import IDEMPOTENCY_KEY, REQUEST_FINGERPRINT
from common.errors import DomainError
from gateway.errors import Unavailable


class Identity(DependencyProvider):
    def setup(self):
        settings = self.container.config
        self.secret = config.secret(settings, "PERSON_KEY_SECRET")
        self.sealer = identity.Sealer(config.secret(settings, "PII_ENCRYPTION_KEY"))

    def get_dependency(self, worker_ctx):
        return self

    def protect(self, id_number, name=None, employer_type=None):
        return identity.protect(id_number, self.secret, self.sealer, name, employer_type)

    def person_key(self, id_number):
        return identity.person_key(identity.validate(id_number), self.secret)

    def seal(self, text):
        """``text`` encrypted (AES-GCM) for storage at rest, as base64: for the few values, such
        as a payout account number, that a payment needs in full."""
        return base64.b64encode(self.sealer.seal(text)).decode()

    def open(self, sealed):
        """What ``seal`` sealed: only for the bank payment file."""
        return self.sealer.open(base64.b64decode(sealed))


class TimedRpcProxy(RpcProxy):
    """nameko's RpcProxy waits for a reply forever; the gateway answers 503 after
    ``RPC_TIMEOUT`` seconds instead, so a dead service never hangs a client."""

    def get_dependency(self, worker_ctx):
        proxy = super().get_dependency(worker_ctx)
        return _Timed(proxy, float(self.container.config.get("RPC_TIMEOUT", 10)))


class _Timed:
    def __init__(self, proxy, timeout):
        self._proxy = proxy
        self._timeout = timeout

    def __getattr__(self, method):
        def call(**kwargs):
            reply = getattr(self._proxy, method).call_async(**kwargs)
            with eventlet.Timeout(self._timeout, Unavailable(f"{self._proxy.service_name}.{method} timed out")):
                return reply.result()
        call.rpc_name = f"{self._proxy.service_name}.{method}"
        return call


class Coalesce(DependencyProvider):
    """``self.coalesce(self.issuance.claim_vouchers, command)``: the commands of one kind that
    requests make at the same moment go to the service as one batch RPC (``common.batching``,
    ADR 0006). Each keeps its own Idempotency-Key and correlation id, and gets its own result,
    or raises its own refusal, as if it had been sent alone."""

    def setup(self):
        settings = self.container.config
        self.max_batch = int(settings.get("COALESCE_MAX_BATCH", 50))
        self.max_in_flight = int(settings.get("COALESCE_MAX_IN_FLIGHT", 1))
        self.coalescers = {}  # one per batch RPC

    def get_dependency(self, worker_ctx):
        envelope = {"idempotency_key": worker_ctx.data.get(IDEMPOTENCY_KEY),
                    "fingerprint": worker_ctx.data.get(REQUEST_FINGERPRINT),
                    "correlation_id": worker_ctx.data.get(CORRELATION_ID)}

        def coalesce(batch_rpc, command):
            coalescer = self.coalescers.get(batch_rpc.rpc_name)
            if coalescer is None:
                coalescer = self.coalescers[batch_rpc.rpc_name] = Coalescer(
                    max_batch=self.max_batch, max_in_flight=self.max_in_flight)
            outcome = coalescer.submit({**command, **envelope}, lambda commands: batch_rpc(commands=commands))
            if "error" in outcome:
                raise DomainError.from_outcome(outcome["error"])
            return outcome["result"]
        return coalesce
