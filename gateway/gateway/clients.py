"""Who is calling: every request is signed with a client's key (``voucher_client``), and
resolves to a client with a role, a region and, for an institution or its devices, the
institution. Refusals say exactly what failed, with 401 and a code."""
import hmac
import math
import secrets
import time
from dataclasses import dataclass

from nameko.extensions import SharedExtension
from sqlalchemy import text
from voucher_client import HEADERS, canonical_request, signature

from common import config, identity, regions
from common.db import green_engine
from common.errors import Forbidden, InvalidInput

ROLES = ("ministry", "platform", "manager", "institution", "device", "channel")
WINDOW_SECONDS = 300
MAX_ACTIVE_KEYS = 2

_KEY = text("""
    SELECT k.secret_sealed, k.revoked_at, c.id, c.role, c.region_code, c.institution_id, c.active, c.rate_limit
    FROM client_keys k JOIN clients c ON c.id = k.client_id WHERE k.key_id = :key_id""")
_NONCE = text("INSERT INTO nonces (key_id, nonce) VALUES (:key_id, :nonce) ON CONFLICT DO NOTHING RETURNING nonce")
_PRUNE = text("DELETE FROM nonces WHERE seen_at < now() - make_interval(secs => :seconds)")


@dataclass(frozen=True)
class Client:
    client_id: str
    role: str
    region_code: str
    institution_id: str | None = None
    rate_limit: int = 100

    def require_region(self, region_code, what="this"):
        if not regions.is_valid(region_code):
            raise InvalidInput("invalid_region", f"{region_code!r} is not a 6-digit region code.")
        if not regions.contains(self.region_code, region_code):
            raise Forbidden("other_region", f"{what} is outside your region {self.region_code}.")


@dataclass(frozen=True)
class Credentials:
    """What an operator hands to an integrator, once: the secret is not shown again."""
    client_id: str
    key_id: str
    secret: str


class Unauthenticated(InvalidInput):
    status = 401


class TooManyRequests(Exception):
    def __init__(self, retry_after):
        super().__init__(retry_after)
        self.retry_after = retry_after


def new_key(client_id, sealer):
    """A key id and secret for a client, and the row that keeps the secret sealed."""
    key_id, secret = f"k_{secrets.token_hex(12)}", secrets.token_urlsafe(32)
    return key_id, secret, {"key_id": key_id, "client_id": client_id, "secret_sealed": sealer.seal(secret)}


def prune_nonces(tx):
    """Nonces older than twice the window can never match a request that passes the clock check."""
    tx.session.execute(_PRUNE, {"seconds": 2 * WINDOW_SECONDS})


class ClientRegistry(SharedExtension):
    def setup(self):
        settings = self.container.config
        self.engine = green_engine(settings["DATABASE_URL"], pool_size=10)
        self.sealer = identity.Sealer(config.secret(settings, "PII_ENCRYPTION_KEY"))
        self.replicas = max(1, int(settings.get("GATEWAY_REPLICAS", 1)))
        self._buckets = {}

    def stop(self):
        self.engine.dispose()

    def authenticate(self, request, body):
        values = {name: request.headers.get(name, "") for name in HEADERS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise Unauthenticated("unsigned", f"Sign the request: {', '.join(missing)} missing (docs/integration.md).")
        key_id, timestamp, nonce, given = (values[name] for name in HEADERS)
        if not timestamp.isdigit() or len(nonce) > 100:
            raise Unauthenticated("malformed_signature", "X-Timestamp is Unix seconds; X-Nonce at most 100 characters.")
        skew = int(timestamp) - time.time()
        if abs(skew) > WINDOW_SECONDS:
            raise Unauthenticated("stale_timestamp", f"X-Timestamp is {abs(skew):.0f} s {'ahead' if skew > 0 else 'behind'}"
                                                     f"; allowed: {WINDOW_SECONDS} s. Check the clock.")
        with self.engine.begin() as connection:
            row = connection.execute(_KEY, {"key_id": key_id}).first()
            if row is None:
                raise Unauthenticated("unknown_key", "X-Key-Id names no key.")
            if row.revoked_at is not None:
                raise Unauthenticated("key_revoked", "This key was revoked; sign with your other key.")
            if not row.active:
                raise Unauthenticated("client_revoked", "This client was revoked.")
            message = canonical_request(request.method, request.path, request.args.items(multi=True), timestamp,
                                        nonce, body)
            if not hmac.compare_digest(signature(self.sealer.open(row.secret_sealed), message), given):
                raise Unauthenticated("bad_signature", "The signature does not match the request; see the canonical "
                                                       "request in docs/integration.md.")
            if connection.execute(_NONCE, {"key_id": key_id, "nonce": nonce}).first() is None:
                raise Unauthenticated("replayed_nonce", "This nonce was already used; every request needs a new one.")
        return Client(str(row.id), row.role, row.region_code, str(row.institution_id) if row.institution_id else None,
                      row.rate_limit)

    def throttle(self, client):
        """A token bucket per client in each gateway replica, filled at the replica's share of
        ``rate_limit`` requests a second, bursts of up to two seconds' worth (ADR 0005). Over
        it, 429 with the wait in Retry-After."""
        now, rate = time.monotonic(), client.rate_limit / self.replicas
        tokens, last = self._buckets.get(client.client_id, (2.0 * rate, now))
        tokens = min(2.0 * rate, tokens + (now - last) * rate)
        if tokens < 1:
            self._buckets[client.client_id] = (tokens, now)
            raise TooManyRequests(math.ceil((1 - tokens) / rate))
        self._buckets[client.client_id] = (tokens - 1, now)
