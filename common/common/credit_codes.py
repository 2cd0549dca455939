"""Unified social credit codes (统一社会信用代码, GB 32100-2015), an institution's identity:
18 characters of digits and capitals without I, O, S, V and Z, the last a check character
over the first 17 (weights 3^i mod 31), so that a mistyped character is caught."""
from common.errors import InvalidInput

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17):
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS))
    return ALPHABET[(31 - total % 31) % 31]


def validate(code):
    """Return the code, or raise ``InvalidInput`` saying what is wrong."""
    if not isinstance(code, str):
        raise InvalidInput("invalid_credit_code", "A unified social credit code is a string of 18 characters.")
    if len(code) != 18:
        raise InvalidInput("invalid_credit_code",
                           f"A unified social credit code has 18 characters; this one has {len(code)}.")
    foreign = "".join(sorted(set(code) - set(ALPHABET)))
    if foreign:
        raise InvalidInput("invalid_credit_code", f"A unified social credit code has only digits and capitals "
                                                  f"other than I, O, S, V and Z; not {foreign!r}.")
    if check_character(code[:17]) != code[17]:
        raise InvalidInput("invalid_credit_code", "The credit code's check character (the 18th) does not match "
                                                  "the first 17; check for a typo.")
    return code
