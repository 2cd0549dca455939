"""Resident identity numbers (GB 11643): validation, keyed hash, mask, derived facts,
and the sealed copy. Check characters are computed here independently of the module
(ISO 7064 MOD 11-2: weight of position i is 2**(17 - i) mod 11, and the whole number,
check character included with weight 1, must sum to 1 mod 11)."""
import base64
import datetime
import json
import os

import pytest
from cryptography.exceptions import InvalidTag

from common import identity
from common.errors import InvalidInput

SECRET = "person-key-secret"


def _reference_check(first17):
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _id(region="430102", birth="19900101", sequence="123"):
    first17 = region + birth + sequence
    return first17 + _reference_check(first17)


def _sealer():
    return identity.Sealer(base64.urlsafe_b64encode(os.urandom(32)).decode())


def _refusal(number):
    with pytest.raises(InvalidInput) as refused:
        identity.validate(number)
    assert refused.value.code == "invalid_id_number"
    return refused.value


# --- validation ---------------------------------------------------------------

def test_the_published_gb_11643_example_is_valid():
    assert identity.validate("11010519491231002X") == "11010519491231002X"


def test_the_check_character_follows_the_gb_11643_weights():
    for sequence in range(0, 1000, 7):
        first17 = "430102" + "19850615" + f"{sequence:03d}"
        assert identity.check_character(first17) == _reference_check(first17)


def test_a_check_value_of_ten_is_written_x():
    first17 = next(f for f in ("43010219900101" + f"{s:03d}" for s in range(1000)) if _reference_check(f) == "X")
    assert identity.check_character(first17) == "X"
    assert identity.validate(first17 + "X") == first17 + "X"


@pytest.mark.parametrize("region", ["000000", "100101", "190101", "990101", "730101"])
def test_a_number_must_start_with_a_province_code(region):
    first17 = region + "19850615" + "123"
    assert "province" in _refusal(first17 + _reference_check(first17)).message


@pytest.mark.parametrize("region", ["110105", "430102", "650102", "810000", "820000", "710101"])
def test_every_province_of_gb_2260_is_accepted(region):
    first17 = region + "19850615" + "123"
    assert identity.validate(first17 + _reference_check(first17))


def test_a_lower_case_x_is_normalised_to_upper_case():
    assert identity.validate("11010519491231002x") == "11010519491231002X"


def test_surrounding_spaces_are_ignored():
    number = _id()
    assert identity.validate(f"  {number} ") == number


def test_a_wrong_check_character_is_refused_as_a_typo():
    number = _id()
    wrong = "0" if number[-1] != "0" else "1"
    assert "check character" in _refusal(number[:-1] + wrong).message


def test_every_single_wrong_character_is_refused():
    number = _id(sequence="457")
    for position in range(18):
        replacements = "0123456789X" if position == 17 else "0123456789"
        for char in replacements:
            if char != number[position]:
                _refusal(number[:position] + char + number[position + 1:])


def test_every_swap_of_neighbouring_different_characters_is_refused():
    number = _id(birth="19761123", sequence="918")
    for i in range(17):
        if number[i] != number[i + 1]:
            _refusal(number[:i] + number[i + 1] + number[i] + number[i + 2:])


@pytest.mark.parametrize("text", ["", "43010219900101123", "4301021990010112345", "43010219900101A234",
                                  "X30102199001011234", "4301021990010112X4", "43010219900101123Y"])
def test_only_seventeen_digits_and_a_final_digit_or_x_are_accepted(text):
    assert "17 digits" in _refusal(text).message


def test_a_number_typed_with_full_width_digits_is_the_same_person_or_refused():
    number = _id(sequence="123")
    full_width = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
    for typed in (number.translate(full_width), number[0].translate(full_width) + number[1:]):
        try:
            person = identity.describe(typed, SECRET)
        except InvalidInput:
            continue
        assert person == identity.describe(number, SECRET)


def test_a_superscript_digit_is_refused_as_invalid_input():
    _refusal("²1010519491231002X")


@pytest.mark.parametrize("value", [None, 430102199001011234, b"11010519491231002X"])
def test_a_number_that_is_not_text_is_refused(value):
    _refusal(value)


@pytest.mark.parametrize("birth", ["19900230", "19900431", "19901301", "19900001", "19000229", "20230229"])
def test_a_birth_date_that_is_not_a_real_date_is_refused(birth):
    assert "not a real date" in _refusal(_id(birth=birth)).message


def test_the_29th_of_february_of_a_leap_year_is_a_real_birth_date():
    number = _id(birth="20000229")
    assert identity.validate(number) == number


def test_a_birth_date_in_the_future_is_refused():
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    assert "out of range" in _refusal(_id(birth=tomorrow.strftime("%Y%m%d"))).message


def test_a_baby_born_today_has_a_valid_number():
    number = _id(birth=datetime.date.today().strftime("%Y%m%d"))
    assert identity.validate(number) == number


def test_a_birth_before_1900_is_refused_and_1900_itself_accepted():
    assert "out of range" in _refusal(_id(birth="18991231")).message
    assert identity.validate(_id(birth="19000101")) == _id(birth="19000101")


# --- person key -----------------------------------------------------------------

def test_the_person_key_is_stable_for_the_same_number_and_secret():
    number = _id()
    assert identity.person_key(number, SECRET) == identity.person_key(number, SECRET)


def test_the_person_key_is_a_sha256_hex_digest():
    key = identity.person_key(_id(), SECRET)
    assert len(key) == 64 and set(key) <= set("0123456789abcdef")


def test_the_person_key_differs_by_secret():
    number = _id()
    assert identity.person_key(number, SECRET) != identity.person_key(number, SECRET + "2")


def test_the_person_key_differs_by_person():
    assert identity.person_key(_id(sequence="123"), SECRET) != identity.person_key(_id(sequence="124"), SECRET)


def test_the_person_key_does_not_contain_the_number():
    number = _id()
    key = identity.person_key(number, SECRET)
    assert number not in key and number[:17] not in key


def test_a_lower_case_x_and_an_upper_case_x_are_the_same_person():
    assert identity.describe("11010519491231002x", SECRET) == identity.describe("11010519491231002X", SECRET)


# --- mask -----------------------------------------------------------------------------

@pytest.mark.parametrize("number", [_id(), _id(birth="19491231", sequence="002"), "11010519491231002X",
                                    _id(region="650102", birth="20011009", sequence="876")])
def test_the_mask_shows_region_and_last_four_and_hides_the_birth_date(number):
    masked = identity.mask(number)
    assert len(masked) == 18
    assert masked[:6] == number[:6]
    assert masked[6:14] == "*" * 8
    assert masked[-4:] == number[-4:]
    assert number[6:14] not in masked


def test_two_people_born_on_different_days_with_the_same_last_four_have_the_same_mask():
    first = _id(birth="19900101", sequence="123")
    day = datetime.date(1990, 1, 2)
    while True:
        second = _id(birth=day.strftime("%Y%m%d"), sequence="123")
        if second[-1] == first[-1]:
            break
        day += datetime.timedelta(days=1)
    assert first != second
    assert identity.mask(first) == identity.mask(second)


@pytest.mark.parametrize("number", ["12345678", "6222021234567890", "622202123456789012345678901234"])
def test_an_account_number_is_masked_to_its_last_four_digits(number):
    assert identity.mask_account(number) == "****" + number[-4:]
    assert number[:-4] not in identity.mask_account(number)


# --- describe and age bands -----------------------------------------------------------

def test_an_odd_17th_digit_is_a_man_and_an_even_one_a_woman():
    assert identity.describe(_id(sequence="123"), SECRET).gender == "M"
    assert identity.describe(_id(sequence="120"), SECRET).gender == "F"
    assert identity.describe("11010519491231002X", SECRET).gender == "F"
    assert identity.describe(_id(sequence="009"), SECRET).gender == "M"


def test_describe_gives_region_birth_year_mask_and_key_but_not_the_number():
    number = _id(region="431102", birth="19830517", sequence="245")
    person = identity.describe(number, SECRET)
    assert person.region_code == "431102"
    assert person.birth_year == 1983
    assert person.masked == "431102********" + number[-4:]
    assert person.person_key == identity.person_key(number, SECRET)
    assert number not in repr(person)


def test_describe_refuses_an_invalid_number():
    number = _id()
    with pytest.raises(InvalidInput):
        identity.describe(number[:-1] + ("0" if number[-1] != "0" else "1"), SECRET)


ON = datetime.date(2024, 6, 1)


@pytest.mark.parametrize("birth_year, band", [
    (2008, "16-24"), (2000, "16-24"), (1999, "25-34"), (1990, "25-34"), (1989, "35-44"), (1980, "35-44"),
    (1979, "45-54"), (1970, "45-54"), (1969, "55+"), (1940, "55+")])
def test_age_bands_change_at_25_35_45_and_55(birth_year, band):
    assert identity.age_band(birth_year, ON) == band


def test_a_person_knows_their_own_age_band():
    person = identity.describe(_id(birth="19990301"), SECRET)
    assert person.age_band(ON) == "25-34"
    assert person.age_band(datetime.date(2023, 12, 31)) == "16-24"


# --- sealing --------------------------------------------------------------------------

def test_a_sealed_number_opens_to_the_same_number():
    sealer, number = _sealer(), _id()
    assert sealer.open(sealer.seal(number)) == number


def test_sealing_twice_gives_different_ciphertexts():
    sealer, number = _sealer(), _id()
    assert sealer.seal(number) != sealer.seal(number)


def test_a_sealed_number_does_not_contain_the_plain_number():
    sealer, number = _sealer(), _id()
    assert number.encode() not in sealer.seal(number)


@pytest.mark.parametrize("where", [0, 11, 12, 20, -1])
def test_a_tampered_sealed_number_is_refused(where):
    sealer = _sealer()
    sealed = bytearray(sealer.seal(_id()))
    sealed[where] ^= 0x01
    with pytest.raises(InvalidTag):
        sealer.open(bytes(sealed))


def test_a_sealed_number_cannot_be_opened_with_another_key():
    sealed = _sealer().seal(_id())
    with pytest.raises(InvalidTag):
        _sealer().open(sealed)


# --- protect ------------------------------------------------------------------------

def test_protected_form_contains_no_plain_number_anywhere():
    sealer = _sealer()
    for number in (_id(), "11010519491231002X", _id(region="210202", birth="20050808", sequence="361")):
        for typed in (number, number.lower(), f" {number} "):
            protected = identity.protect(typed, SECRET, sealer)
            text = json.dumps(protected)
            assert number not in text
            assert number.lower() not in text
            assert number[:17] not in text
            assert number[6:14] not in text


def test_protected_form_carries_the_person_and_a_sealed_copy_that_opens():
    sealer, number = _sealer(), "11010519491231002X"
    protected = identity.protect("11010519491231002x", SECRET, sealer)
    assert protected["person_key"] == identity.person_key(number, SECRET)
    assert protected["masked"] == "110105********002X"
    assert (protected["region_code"], protected["birth_year"], protected["gender"]) == ("110105", 1949, "F")
    assert sealer.open(base64.b64decode(protected["sealed"])) == number


def test_protect_refuses_an_invalid_number():
    with pytest.raises(InvalidInput):
        identity.protect("11010519491231002", SECRET, _sealer())
