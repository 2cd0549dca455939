"""The rotating check-in code (二维码签到), the fallback when location fails: the institution's
screen shows a code signed for the session that changes every ``ROTATION_SECONDS``; the trainee's
app scans it. A code is accepted during its own period and the next one, so a screenshot sent to
someone at home stops working within 40 seconds.

    VTC1.<session id, base64url>.<period number>.<MAC, base64url>

The MAC is HMAC-SHA256 over the session id and the period under the service's code key, cut to
10 bytes: a forger has one guess in 2^80, and a guess only lives for two periods.
"""
import base64
import hashlib
import hmac
import uuid

from common.errors import RuleViolation

PREFIX = "VTC1"
ROTATION_SECONDS = 20
MAC_BYTES = 10


def code_key(secret):
    """The code key, derived from a service secret so that it serves this purpose only."""
    return hmac.new(secret.encode(), b"attendance rotating check-in codes v1", hashlib.sha256).digest()


def period(at):
    return int(at.timestamp()) // ROTATION_SECONDS


def make(key, session_id, at):
    """(the code shown at ``at``, the Unix second its period ends)."""
    number = period(at)
    raw_id = uuid.UUID(str(session_id)).bytes
    return f"{PREFIX}.{_b64(raw_id)}.{number}.{_b64(_mac(key, raw_id, number))}", (number + 1) * ROTATION_SECONDS


def read(key, code, at):
    """The session a code scanned at ``at`` was shown for, or the refusal that says why not."""
    parts = code.split(".") if isinstance(code, str) else []
    try:
        prefix, raw_id, number = parts[0], _unb64(parts[1]), int(parts[2])
        given = _unb64(parts[3])
        session_id = uuid.UUID(bytes=raw_id)
    except (IndexError, ValueError):
        raise _invalid()
    if len(parts) != 4 or prefix != PREFIX or not -2 ** 63 <= number < 2 ** 63:
        raise _invalid()
    if not hmac.compare_digest(given, _mac(key, raw_id, number)):
        raise _invalid()
    if not 0 <= period(at) - number <= 1:
        raise RuleViolation("checkin_code_expired", "This check-in code has changed since: scan the code on the "
                                                    "screen now.")
    return str(session_id)


def _invalid():
    return RuleViolation("checkin_code_invalid", "This is not a check-in code of this platform; scan the code on "
                                                 "the institution's screen.")


def _mac(key, raw_id, number):
    return hmac.new(key, raw_id + number.to_bytes(8, "big", signed=True), hashlib.sha256).digest()[:MAC_BYTES]


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
