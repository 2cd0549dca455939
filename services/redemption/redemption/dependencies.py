"""The keys that sign and verify voucher QR codes, read from redemption's database and kept
for a few seconds (``QR_KEY_CACHE_SECONDS``), so that a scan costs no key lookup."""
import base64
import secrets
import time

from nameko.extensions import DependencyProvider
from sqlalchemy import func, select

from common import config, identity
from redemption.models import QrKey
from voucher_client import qr

KEY_LOCK = 3  # advisory lock namespace: one first key, however many replicas start at once


class QrKeys(DependencyProvider):
    def setup(self):
        settings = self.container.config
        self.sealer = identity.Sealer(config.secret(settings, "PII_ENCRYPTION_KEY"))
        self.ttl = float(settings.get("QR_KEY_CACHE_SECONDS", 5))
        self._read_at, self._verifying, self._signing = float("-inf"), {}, None

    def get_dependency(self, worker_ctx):
        return self

    def verifying(self, session, payloads=()):
        """{key id: public key bytes} of the keys that verify, and None for each retired key. Read
        again at once if one of the QR ``payloads`` about to be checked names a key not read yet:
        another replica may have made it since (the first key, a rotation), and its codes are
        genuine. A made-up key id costs one more read of a table of a few rows."""
        self._refresh(session)
        named = {qr.key_id_of(payload) for payload in payloads} - {None}
        if not named <= self._verifying.keys():
            self._read_at = float("-inf")
            self._refresh(session)
        return self._verifying

    def signing(self, session):
        """(key id, private key bytes) of the active key; the first is made on first use."""
        self._refresh(session)
        if self._signing is None:
            session.execute(select(func.pg_advisory_xact_lock(KEY_LOCK, 0)))
            if session.scalar(select(QrKey.key_id).where(QrKey.status == "active")) is None:
                add_key(session, self.sealer)
            self._read_at = float("-inf")
            self._refresh(session)
        return self._signing

    def _refresh(self, session):
        if time.monotonic() - self._read_at < self.ttl:
            return
        keys = session.scalars(select(QrKey)).all()
        self._verifying = {k.key_id: None if k.status == "retired" else k.public_key for k in keys}
        active = next((k for k in keys if k.status == "active"), None)
        self._signing = (active.key_id, base64.b64decode(self.sealer.open(active.private_sealed))) if active else None
        self._read_at = time.monotonic()


def add_key(session, sealer):
    """A new active key; the one active before it only verifies from now on (rotation)."""
    session.execute(QrKey.__table__.update().where(QrKey.status == "active").values(status="verifying"))
    private, public = qr.new_key()
    key = QrKey(key_id=f"q{secrets.token_hex(4)}", public_key=public,
                private_sealed=sealer.seal(base64.b64encode(private).decode()), status="active")
    session.add(key)
    session.flush()
    return key
