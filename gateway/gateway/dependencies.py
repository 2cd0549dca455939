"""The gateway is where personal data enters: an ID number is validated here and turned
into the protected form (person key, masked, sealed) before anything else sees it."""
import base64

import eventlet
from nameko.extensions import DependencyProvider
from nameko.rpc import RpcProxy

from common import config, identity
from gateway.errors import Unavailable


class Identity(DependencyProvider):
    def setup(self):
        settings = self.container.config
        self.secret = config.secret(settings, "PERSON_KEY_SECRET")
        self.sealer = identity.Sealer(config.secret(settings, "PII_ENCRYPTION_KEY"))

    def get_dependency(self, worker_ctx):
        return self

    def protect(self, id_number, name=None):
        return identity.protect(id_number, self.secret, self.sealer, name)

    def person_key(self, id_number):
        return identity.person_key(identity.validate(id_number), self.secret)

    def seal(self, text):
        """``text`` encrypted (AES-GCM) for storage at rest, as base64: for the few values, such
        as a payout account number, that a payment needs in full."""
        return base64.b64encode(self.sealer.seal(text)).decode()


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
        return call
