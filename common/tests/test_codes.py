"""Voucher codes (券码): Crockford base 32, 12 random characters and a Luhn mod 32 check
character. Validity is checked here with an independent statement of Luhn mod N: read
from the right, the check character has factor 1, the next factor 2, and so on
alternately; a doubled value is reduced to the sum of its base-N digits; the total of a
valid code is 0 mod N."""
import itertools
import random

import pytest

from common import codes

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
N = len(ALPHABET)


def _luhn_valid(code):
    total = 0
    for i, char in enumerate(reversed(code)):
        value = ALPHABET.index(char) * (2 if i % 2 else 1)
        total += value // N + value % N
    return total % N == 0


def _code(body):
    return body + codes.check_character(body)


def _sample_codes(count, seed):
    rng = random.Random(seed)
    return [_code("".join(rng.choice(ALPHABET) for _ in range(12))) for _ in range(count)]


FIXED = ["0123456789AB", "ZZZZZZZZZZZZ", "000000000000", "K7Q2M9XH4TPW"]


def test_the_alphabet_is_crockford_base_32_without_i_l_o_u():
    assert codes.ALPHABET == ALPHABET
    assert not set("ILOU") & set(codes.ALPHABET)


def test_a_new_code_is_13_characters_of_the_alphabet():
    for _ in range(200):
        code = codes.new_code()
        assert len(code) == 13
        assert set(code) <= set(ALPHABET)


def test_a_new_code_carries_a_valid_luhn_mod_32_check_character():
    for _ in range(200):
        assert _luhn_valid(codes.new_code())


def test_new_codes_are_not_repeated():
    assert len({codes.new_code() for _ in range(2000)}) == 2000


@pytest.mark.parametrize("body", FIXED)
def test_the_check_character_satisfies_luhn_mod_32(body):
    assert _luhn_valid(_code(body))


def test_only_one_check_character_makes_a_body_valid():
    for body in FIXED:
        valid = [c for c in ALPHABET if _luhn_valid(body + c)]
        assert valid == [codes.check_character(body)]


def test_a_new_code_is_accepted_as_typed():
    code = codes.new_code()
    assert codes.normalise(code) == code


def test_lower_case_is_accepted():
    code = codes.new_code()
    assert codes.normalise(code.lower()) == code


def test_dashes_and_spaces_are_ignored():
    code = codes.new_code()
    assert codes.normalise(codes.display(code)) == code
    assert codes.normalise(" ".join([code[:4], code[4:8], code[8:]])) == code
    assert codes.normalise(f"{code[:3]} - {code[3:]}") == code


def test_i_and_l_are_read_as_one_and_o_as_zero():
    code = _code("10A1B0C01D0E")
    assert codes.normalise(code.replace("1", "I").replace("0", "O")) == code
    assert codes.normalise(code.replace("1", "l").replace("0", "o")) == code
    assert codes.normalise(code.replace("1", "L")) == code


@pytest.mark.parametrize("typed", [None, 1234567890123, "", "ABC", "0123456789ABC4" * 2])
def test_text_that_cannot_be_a_code_is_refused(typed):
    assert codes.normalise(typed) is None


def test_a_code_with_a_character_missing_or_added_is_refused():
    code = codes.new_code()
    assert codes.normalise(code[:-1]) is None
    assert codes.normalise(code[1:]) is None
    assert codes.normalise(code + "0") is None


def test_a_code_with_a_foreign_character_is_refused():
    code = codes.new_code()
    for foreign in "U*中#":
        assert codes.normalise(foreign + code[1:]) is None


@pytest.mark.parametrize("code", [_code(b) for b in FIXED] + _sample_codes(4, seed=11))
def test_a_mistyped_character_is_told_apart_from_an_unknown_code(code):
    """Every single-character substitution, at every position (the check character
    included) and by every other character of the alphabet, fails the check."""
    for position, char in itertools.product(range(13), ALPHABET):
        if char != code[position]:
            assert codes.normalise(code[:position] + char + code[position + 1:]) is None, (code, position, char)


def _swap(code, i):
    return code[:i] + code[i + 1] + code[i] + code[i + 2:]


def _code_with_neighbours(i, a, b, rng):
    """A valid code whose characters at i and i + 1 are a and b (i + 1 may be the check
    character: then the first body character is chosen to make the check come out as b)."""
    body = [rng.choice(ALPHABET) for _ in range(12)]
    if i + 1 < 12:
        body[i], body[i + 1] = a, b
        return _code("".join(body))
    body[11] = a
    for first in ALPHABET:
        body[0] = first
        if codes.check_character("".join(body)) == b:
            return _code("".join(body))
    raise AssertionError("no body gives that check character")


def test_neighbour_swaps_are_caught_except_between_0_and_z():
    """Luhn mod N with N even: swapping neighbours x, y (one doubled, one not) keeps the
    total iff d(x) - x == d(y) - y (mod N), where d(v) = 2v for v < N/2 and 2v - N + 1
    otherwise. d(v) - v is v for v < N/2 and v - (N - 1) for v >= N/2, so the only
    colliding pair of distinct values is 0 and N - 1, here '0' and 'Z' (as 09 <-> 90 is
    for decimal Luhn); it is not the pair differing by N/2. Measured exhaustively over
    every neighbouring position (the check character included) and every ordered pair
    of distinct characters."""
    rng = random.Random(7)
    undetected, total = set(), 0
    for i in range(12):
        for a, b in itertools.permutations(ALPHABET, 2):
            code = _code_with_neighbours(i, a, b, rng)
            assert code[i:i + 2] == a + b
            total += 1
            if codes.normalise(_swap(code, i)) is not None:
                undetected.add((i, a, b))
    assert total == 12 * N * (N - 1)
    assert {(a, b) for _, a, b in undetected} == {("0", "Z"), ("Z", "0")}
    assert {i for i, _, _ in undetected} == set(range(12))
    detected_fraction = 1 - len(undetected) / total
    assert detected_fraction == pytest.approx(1 - 2 / (N * (N - 1)))
    assert detected_fraction > 0.997


def test_a_swap_of_0_and_z_is_the_documented_blind_spot():
    code = _code("0Z" + "K7Q2M9XH4T")
    assert codes.normalise(_swap(code, 0)) == _swap(code, 0)


def test_a_swap_of_characters_differing_by_half_the_alphabet_is_caught():
    code = _code("0G" + "K7Q2M9XH4T")  # values 0 and 16
    assert codes.normalise(_swap(code, 0)) is None


def test_a_code_is_displayed_in_groups_of_four():
    code = _code("ABCDEFGHJKMN")
    shown = codes.display(code)
    assert shown == f"ABCD-EFGH-JKMN-{code[-1]}"
    assert [len(group) for group in shown.split("-")] == [4, 4, 4, 1]


def test_codes_made_in_bulk_are_as_many_as_asked_all_different_and_all_valid():
    made = codes.new_codes(5000)
    assert len(made) == len(set(made)) == 5000
    assert all(codes.normalise(code) == code for code in made)
