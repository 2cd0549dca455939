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
from common.batching import Coalescer
from common.db import array_literal, execute_prepared, green_engine, reconnecting
from common.errors import Forbidden, InvalidInput

ROLES = ("ministry", "platform", "manager", "institution", "device", "channel")
WINDOW_SECONDS = 300
MAX_ACTIVE_KEYS = 2

_KEY = text("""
    SELECT k.secret_sealed, c.id, c.role, c.region_code, c.institution_id, c.rate_limit
    FROM client_keys k JOIN clients c ON c.id = k.client_id WHERE k.key_id = :key_id""")
# A nonce is recorded only for a key and client still in force, so this one statement also
# decides revocation, on every request. Plain SQL with $1, $2: it is prepared once per connection.
_NONCES = """
    INSERT INTO nonces (key_id, nonce)
    SELECT n.key_id, n.nonce FROM unnest(CAST($1 AS text[]), CAST($2 AS text[])) AS n (key_id, nonce)
    JOIN client_keys k ON k.key_id = n.key_id AND k.revoked_at IS NULL
    JOIN clients c ON c.id = k.client_id AND c.active AND c.disabled_at IS NULL
    ON CONFLICT DO NOTHING RETURNING key_id, nonce"""
_STANDING = text("""
    SELECT k.key_id, k.revoked_at IS NOT NULL AS key_revoked, NOT c.active AS client_revoked,
           c.disabled_at IS NOT NULL AS device_disabled
    FROM client_keys k JOIN clients c ON c.id = k.client_id WHERE k.key_id = ANY(:key_ids)""")
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
    """Verifies signatures. A key's secret and its client's role and region never change, so
    they are read once per key; whether the key and client are still in force is decided, with
    the nonce, by one statement for all the requests that arrive together (ADR 0004)."""

    def setup(self):
        settings = self.container.config
        self.engine = green_engine(settings["DATABASE_URL"], pool_size=4, isolation_level="AUTOCOMMIT")
        self.sealer = identity.Sealer(config.secret(settings, "PII_ENCRYPTION_KEY"))
        self.replicas = max(1, int(settings.get("GATEWAY_REPLICAS", 1)))
        self._buckets = {}
        self._keys = {}  # key id: (secret, Client)
        self._nonces = Coalescer(max_batch=200, max_in_flight=2)

    def stop(self):
        self.engine.dispose()

    def authenticate(self, request, body):
        values = {name: request.headers.get(name, "") for name in HEADERS}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise Unauthenticated("unsigned", f"Sign the request: {', '.join(missing)} missing (docs/integration.md).")
        key_id, timestamp, nonce, given = (values[name] for name in HEADERS)
        if not timestamp.isdigit() or len(nonce) > 100 or len(key_id) > 40:
            raise Unauthenticated("malformed_signature", "X-Timestamp is Unix seconds; X-Nonce at most 100 characters, "
                                                         "X-Key-Id at most 40.")
        skew = int(timestamp) - time.time()
        if abs(skew) > WINDOW_SECONDS:
            raise Unauthenticated("stale_timestamp", f"X-Timestamp is {abs(skew):.0f} s {'ahead' if skew > 0 else 'behind'}"
                                                     f"; allowed: {WINDOW_SECONDS} s. Check the clock.")
        secret, client = self._key(key_id)
        message = canonical_request(request.method, request.path, request.args.items(multi=True), timestamp,
                                    nonce, body)
        if not hmac.compare_digest(signature(secret, message), given):
            raise Unauthenticated("bad_signature", "The signature does not match the request; see the canonical "
                                                   "request in docs/integration.md.")
        refusal = self._nonces.submit((key_id, nonce), self._record_nonces)
        if refusal is not None:
            raise refusal
        return client

    @reconnecting
    def _key(self, key_id):
        if key_id not in self._keys:
            with self.engine.connect() as connection:
                row = connection.execute(_KEY, {"key_id": key_id}).first()
            if row is None:
                raise Unauthenticated("unknown_key", "X-Key-Id names no key.")
            self._keys[key_id] = (self.sealer.open(row.secret_sealed), Client(
                str(row.id), row.role, row.region_code, str(row.institution_id) if row.institution_id else None,
                row.rate_limit))
        return self._keys[key_id]

    @reconnecting
    def _record_nonces(self, pairs):
        """Each (key id, nonce): None when recorded now, or why it is refused."""
        with self.engine.connect() as connection:
            recorded = set(execute_prepared(connection, "record_nonces", _NONCES, (
                array_literal(k for k, _ in pairs), array_literal(n for _, n in pairs))).tuples())
            standing = {} if len(recorded) == len(set(pairs)) else {
                row.key_id: row for row in connection.execute(_STANDING, {"key_ids": [k for k, _ in pairs]})}
        outcomes = []
        for pair in pairs:
            if pair in recorded:
                recorded.discard(pair)  # the same nonce twice in one batch: the second is a replay
                outcomes.append(None)
            elif pair[0] in standing and standing[pair[0]].key_revoked:
                outcomes.append(Unauthenticated("key_revoked", "This key was revoked; sign with your other key."))
            elif pair[0] in standing and standing[pair[0]].client_revoked:
                outcomes.append(Unauthenticated("client_revoked", "This client was revoked."))
            elif pair[0] in standing and standing[pair[0]].device_disabled:
                outcomes.append(Unauthenticated("device_disabled", "This device was disabled by its institution; "
                                                                   "ask it to enable the device again."))
            else:
                outcomes.append(Unauthenticated("replayed_nonce",
                                                "This nonce was already used; every request needs a new one."))
        return outcomes

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
