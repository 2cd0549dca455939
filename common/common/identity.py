"""Resident identity numbers (GB 11643) and how the platform keeps them.

An ID number is validated, then never stored or sent in full: services share a
keyed hash (the *person key*), show a masked form, and keep an encrypted copy only
where a payment needs the number. Age and gender are derived here, once.
"""
import base64
import datetime
import hashlib
import hmac
import os
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from common.errors import InvalidInput

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# Provinces of GB/T 2260: the first two digits of every resident's number.
PROVINCES = frozenset("11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 "
                      "61 62 63 64 65 71 81 82".split())


def check_character(first17):
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def validate(id_number):
    """Return the normalised number, or raise ``InvalidInput`` saying what is wrong."""
    if not isinstance(id_number, str):
        raise InvalidInput("invalid_id_number", "An ID number must be a string of 18 characters.")
    number = id_number.strip().upper()
    if not _SHAPE.fullmatch(number):  # ASCII only: a full-width digit must not make a second person
        raise InvalidInput("invalid_id_number", "An ID number has 17 digits and a final digit or X.")
    if number[:2] not in PROVINCES:
        raise InvalidInput("invalid_id_number", "An ID number starts with a province's code (11 to 82); "
                                                "check the first digits.")
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidInput("invalid_id_number", "The birth date inside the ID number is not a real date.")
    if not datetime.date(1900, 1, 1) <= birth <= datetime.date.today():
        raise InvalidInput("invalid_id_number", "The birth date inside the ID number is out of range.")
    if check_character(number[:17]) != number[17]:
        raise InvalidInput("invalid_id_number", "The ID number's check character does not match; check for a typo.")
    return number


@dataclass(frozen=True)
class Person:
    """What services may know of a person: never the full number."""
    person_key: str
    masked: str
    region_code: str
    birth_year: int
    gender: str  # "M" or "F"

    def age_band(self, on=None):
        return age_band(self.birth_year, on)


def person_key(id_number, secret):
    return hmac.new(secret.encode(), id_number.encode(), hashlib.sha256).hexdigest()


def mask(id_number):
    return id_number[:6] + "*" * 8 + id_number[-4:]


def describe(id_number, secret):
    number = validate(id_number)
    return Person(
        person_key=person_key(number, secret),
        masked=mask(number),
        region_code=number[:6],
        birth_year=int(number[6:10]),
        gender="M" if int(number[16]) % 2 else "F",
    )


def mask_account(number):
    """6222021234567890 -> ****7890: a bank account number by its last four digits."""
    return "****" + number[-4:]


def mask_name(name):
    """张三丰 -> 张**: the surname alone, as e-card channels display a holder."""
    return name[:1] + "*" * (len(name) - 1)


def protect(id_number, secret, sealer, name=None, employer_type=None):
    """The form in which a person crosses from the gateway into the platform: keyed hash,
    masked number and sealed number (and name, when given); the plain values go no further."""
    person = describe(id_number, secret)
    protected = {"person_key": person.person_key, "masked": person.masked, "region_code": person.region_code,
                 "birth_year": person.birth_year, "gender": person.gender, "employer_type": employer_type,
                 "sealed": base64.b64encode(sealer.seal(validate(id_number))).decode()}
    if name:
        protected.update(name_masked=mask_name(name), name_sealed=base64.b64encode(sealer.seal(name)).decode())
    return protected


# Who a worker works for (单位性质), as the bureau or the channel knows it; unknown when neither says.
EMPLOYER_TYPES = ("state_owned",      # 国有企业
                  "private",          # 民营企业
                  "foreign_funded",   # 外资企业
                  "public_sector",    # 机关事业单位
                  "self_employed",    # 个体工商户、灵活就业
                  "none")             # 无工作单位
UNKNOWN = "unknown"


def profile(*, birth_year, gender, region_code, employer_type, groups, on=None):
    """What statistics may count a voucher's holder by (age band, gender, home province, target
    groups, employer type): coarse enough that no one is told apart by it, and never the number."""
    return {"age_band": age_band(birth_year, on), "gender": gender, "home_province": region_code[:2] + "0000",
            "groups": sorted(set(groups)), "employer_type": employer_type or UNKNOWN}


def age_band(birth_year, on=None):
    age = (on or datetime.date.today()).year - birth_year
    for upper, band in ((25, "16-24"), (35, "25-34"), (45, "35-44"), (55, "45-54")):
        if age < upper:
            return band
    return "55+"


class Sealer:
    """AES-GCM encryption at rest for the few fields a payment needs in full."""

    def __init__(self, key_b64):
        self._aead = AESGCM(base64.urlsafe_b64decode(key_b64))

    def seal(self, plaintext):
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), None)

    def open(self, sealed):
        return self._aead.decrypt(sealed[:12], sealed[12:], None).decode()
