"""Voucher unique codes (券码): 12 random characters and a check character.

The alphabet is Crockford's base 32 (no I, L, O, U), so a code read aloud or typed
from paper survives; 60 random bits make codes unguessable; the Luhn mod 32 check
character tells a mistyped code (any one wrong character, most swaps of neighbours)
from an unknown one without asking the database.
"""
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_SIMILAR = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})
BODY_LENGTH = 12


def check_character(body):
    """Luhn mod N over the alphabet, N = 32."""
    n = len(ALPHABET)
    total, factor = 0, 2
    for char in reversed(body):
        addend = factor * _VALUE[char]
        total += addend // n + addend % n
        factor = 1 if factor == 2 else 2
    return ALPHABET[(n - total % n) % n]


def new_code():
    return new_codes(1)[0]


_SHIFTS = range(5 * (BODY_LENGTH - 1), -1, -5)


def new_codes(count):
    """``count`` new codes, each from 60 bits of one read of the system's randomness: a bulk
    issuance makes a million."""
    raw = secrets.token_bytes(8 * count)
    made = []
    for start in range(0, 8 * count, 8):
        bits = int.from_bytes(raw[start:start + 8], "big") >> 4
        body = "".join([ALPHABET[(bits >> shift) & 31] for shift in _SHIFTS])
        made.append(body + check_character(body))
    return made


def normalise(typed):
    """Upper-case, drop separators, read I/L as 1 and O as 0. Returns None when the text
    cannot be a code at all (wrong length, foreign characters, failed check)."""
    if not isinstance(typed, str):
        return None
    code = typed.upper().translate(_SIMILAR)
    if len(code) != BODY_LENGTH + 1 or any(c not in _VALUE for c in code):
        return None
    return code if check_character(code[:-1]) == code[-1] else None


def display(code):
    """``ABCD-EFGH-JKMN-P`` for print."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))
