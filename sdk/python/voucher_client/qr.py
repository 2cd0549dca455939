"""Dynamic voucher QR codes (动态二维码): what a holder's e-card app shows, what a scanner reads.

A payload is short text for a QR code (about 140 characters)::

    VT1.<key id>.<body, base64url>.<Ed25519 signature, base64url>

The body binds the voucher's unique code, a tag of its holder (the first 12 bytes of SHA-256 of
the holder's person key: enough to tell holders apart, nothing to learn the person from) and the
moment it stops being valid, about two minutes after it was made. The signature covers
``VT1.<key id>.<body>``, so neither the key id nor any byte of the body can change unnoticed.

Anyone holding the published key set (``GET /v1/qr-keys``) can check a payload offline with
``verify``: a scanner without connectivity checks authenticity and freshness at scan time, then
uploads its scans when it is back online. The platform uses this very module to sign and to
check, so scanners and platform cannot disagree.
"""
import base64
import functools
import hashlib
import struct
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "VT1"
LIFETIME_SECONDS = 120
CLOCK_SKEW_SECONDS = 30  # a scanner's clock may run this far ahead of the phone's
CODE_LENGTH = 13
HOLDER_TAG_BYTES = 12
_BODY = struct.Struct(f">{CODE_LENGTH}s{HOLDER_TAG_BYTES}sI")  # code, holder tag, expiry (Unix seconds)


@dataclass(frozen=True)
class Scan:
    """What a payload says, once its signature has been checked."""
    key_id: str
    code: str
    holder_tag: bytes
    expires_at: int


class QrRefused(Exception):
    """Why a payload is refused: ``code`` for a scanner's display, ``message`` for a person."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message


def holder_tag(person_key):
    return hashlib.sha256(person_key.encode()).digest()[:HOLDER_TAG_BYTES]


def new_key():
    """(private key bytes, public key bytes) of a new Ed25519 key: 32 bytes each."""
    from cryptography.hazmat.primitives import serialization
    private = Ed25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    return (private.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()),
            private.public_key().public_bytes(raw, serialization.PublicFormat.Raw))


def sign(private_key, key_id, code, person_key, now=None, lifetime=LIFETIME_SECONDS):
    """The payload for ``code`` held by ``person_key``, valid for ``lifetime`` seconds from now.
    ``private_key``: its 32 raw bytes."""
    expires_at = int(now if now is not None else time.time()) + lifetime
    body = _b64(_BODY.pack(code.encode("ascii"), holder_tag(person_key), expires_at))
    signed = f"{PREFIX}.{key_id}.{body}"
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(signed.encode("ascii"))
    return f"{signed}.{_b64(signature)}", expires_at


def key_id_of(payload):
    """The id of the key a payload says signed it, or None for what is not shaped like a payload."""
    parts = payload.split(".") if isinstance(payload, str) else []
    return parts[1] if len(parts) == 4 and parts[0] == PREFIX else None


def verify(payload, public_keys, now=None):
    """The ``Scan`` a genuine, fresh payload stands for, or ``QrRefused``.

    ``public_keys``: {key id: 32 raw public key bytes} of the keys that verify now (the published
    set without its retired keys); a key id outside it is refused as unknown, or as retired when
    ``public_keys`` maps it to None. ``now``: the moment of the scan (Unix seconds)."""
    signer = key_id_of(payload)
    if signer is None:
        raise QrRefused("qr_malformed", "This is not a voucher QR code of this platform.")
    _, _, body, signature = payload.split(".")
    if signer not in public_keys:
        raise QrRefused("qr_key_unknown", "This QR code was signed with a key this platform does not know.")
    if public_keys[signer] is None:
        raise QrRefused("qr_key_retired", "This QR code was signed with a retired key; show a fresh code.")
    try:
        _public_key(public_keys[signer]).verify(
            _unb64(signature), f"{PREFIX}.{signer}.{body}".encode("ascii"))
        code, tag, expires_at = _BODY.unpack(_unb64(body))
        code = code.decode("ascii")
    except (InvalidSignature, ValueError, struct.error, UnicodeDecodeError):
        raise QrRefused("qr_forged", "This QR code's signature does not match: it is forged or altered.")
    moment = time.time() if now is None else now
    if moment > expires_at:
        raise QrRefused("qr_expired", "This QR code has expired; ask the holder to refresh it in the app.")
    if expires_at - moment > LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        raise QrRefused("qr_not_yet_valid", "This QR code claims a validity longer than any code has; check "
                                            "the scanner's clock.")
    return Scan(signer, code, tag, expires_at)


@functools.lru_cache(maxsize=64)
def _public_key(raw):
    """A key set holds a handful of keys; a scanner checks thousands of codes with them."""
    return Ed25519PublicKey.from_public_bytes(raw)


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
