"""Certificate rules (添加证书): what a certificate must look like, who may record it for
whom, when it may be dated, and what a second report of the same number means."""
import datetime
import uuid
from types import SimpleNamespace

import pytest

from common.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from settlement.domain.certificates import CHINA, KINDS, check_existing, check_issued_on, check_recorder, parse

INSTITUTION = uuid.uuid4()
VOUCHER = uuid.uuid4()
HOLDER = "a" * 64
GOOD = {"number": " 2024-430102-0001 ", "kind": "skill_level", "occupation": "电工", "skill_level": 4,
        "issued_on": "2024-06-30", "issuer": "湖南省职业技能鉴定中心"}


# --- the certificate itself ----------------------------------------------------------

def test_a_good_certificate_is_parsed_with_its_date_and_trimmed_text():
    assert parse(GOOD) == {"kind": "skill_level", "number": "2024-430102-0001", "occupation": "电工",
                           "skill_level": 4, "issued_on": datetime.date(2024, 6, 30), "issuer": "湖南省职业技能鉴定中心"}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_of_certificate_is_accepted(kind):
    assert parse({**GOOD, "kind": kind})["kind"] == kind


def test_the_skill_level_may_be_absent():
    assert parse({**GOOD, "kind": "special_operation", "skill_level": None})["skill_level"] is None
    assert parse({k: v for k, v in GOOD.items() if k != "skill_level"})["skill_level"] is None


@pytest.mark.parametrize("change, code", [
    ({"kind": "diploma"}, "invalid_kind"),
    ({"kind": None}, "invalid_kind"),
    ({"skill_level": 0}, "invalid_skill_level"),
    ({"skill_level": 6}, "invalid_skill_level"),
    ({"skill_level": "3"}, "invalid_skill_level"),
    ({"skill_level": True}, "invalid_skill_level"),
    ({"issued_on": "30/06/2024"}, "invalid_issued_on"),
    ({"issued_on": None}, "invalid_issued_on"),
    ({"number": ""}, "invalid_number"),
    ({"number": "   "}, "invalid_number"),
    ({"number": "9" * 65}, "invalid_number"),
    ({"occupation": None}, "invalid_occupation"),
    ({"issuer": 7}, "invalid_issuer"),
])
def test_a_bad_field_is_invalid_input_naming_it(change, code):
    with pytest.raises(InvalidInput) as refused:
        parse({**GOOD, **change})
    assert refused.value.code == code


def test_a_certificate_that_is_not_an_object_is_invalid_input():
    with pytest.raises(InvalidInput):
        parse(["skill_level"])


# --- who may record it, for whom --------------------------------------------------------

def _used(**overrides):
    return SimpleNamespace(**{"voucher_id": VOUCHER, "institution_id": INSTITUTION, "region_code": "430102",
                              "person_key": HOLDER, **overrides})


def _check(used=None, **overrides):
    kwargs = {"person_key": HOLDER, "institution_id": INSTITUTION, "region_code": "430102", **overrides}
    check_recorder(used or _used(), **kwargs)


@pytest.mark.parametrize("overrides", [
    {}, {"institution_id": str(INSTITUTION)}, {"institution_id": None, "region_code": "430100"},
    {"institution_id": None, "region_code": "000000"}])
def test_the_institution_or_a_manager_of_the_region_may_record_for_the_holder(overrides):
    _check(**overrides)


def test_someone_else_is_not_the_holder():
    with pytest.raises(RuleViolation) as refused:
        _check(person_key="b" * 64)
    assert refused.value.code == "not_the_holder"


def test_another_institution_is_forbidden():
    with pytest.raises(Forbidden) as refused:
        _check(institution_id=uuid.uuid4())
    assert refused.value.code == "other_institution"


@pytest.mark.parametrize("region_code", ["430103", "430200", "370000"])
def test_a_caller_outside_the_vouchers_region_is_forbidden(region_code):
    with pytest.raises(Forbidden) as refused:
        _check(institution_id=None, region_code=region_code)
    assert refused.value.code == "other_region"


def test_a_caller_without_authority_never_learns_whether_the_person_holds_the_voucher():
    for overrides, code in [({"region_code": "370000"}, "other_region"),
                            ({"institution_id": uuid.uuid4()}, "other_institution")]:
        with pytest.raises(Forbidden) as refused:
            _check(person_key="b" * 64, **overrides)
        assert refused.value.code == code


# --- dates -----------------------------------------------------------------------------

USED_AT = datetime.datetime(2024, 6, 1, 2, 0, tzinfo=datetime.timezone.utc)  # 10:00 in China
TODAY = datetime.date(2024, 7, 1)


@pytest.mark.parametrize("issued_on", [datetime.date(2024, 6, 1), datetime.date(2024, 6, 15), TODAY])
def test_a_certificate_from_the_day_of_use_to_today_is_accepted(issued_on):
    check_issued_on(issued_on, used_at=USED_AT, on=TODAY)


def test_a_certificate_dated_before_the_voucher_was_used_is_refused():
    with pytest.raises(RuleViolation) as refused:
        check_issued_on(datetime.date(2024, 5, 31), used_at=USED_AT, on=TODAY)
    assert refused.value.code == "certificate_before_training"


def test_the_day_of_use_is_the_day_in_china():
    used_late_at_night = datetime.datetime(2024, 6, 1, 17, 0, tzinfo=datetime.timezone.utc)  # 2 June in China
    with pytest.raises(RuleViolation):
        check_issued_on(datetime.date(2024, 6, 1), used_at=used_late_at_night, on=TODAY)
    check_issued_on(datetime.date(2024, 6, 2), used_at=used_late_at_night, on=TODAY)


def test_a_certificate_from_the_future_is_refused():
    with pytest.raises(RuleViolation) as refused:
        check_issued_on(TODAY + datetime.timedelta(days=1), used_at=USED_AT, on=TODAY)
    assert refused.value.code == "certificate_in_future"


def test_today_is_todays_date_in_china():
    check_issued_on(datetime.datetime.now(CHINA).date(), used_at=USED_AT)


# --- the same number reported again --------------------------------------------------------

def test_the_same_certificate_for_the_same_voucher_is_the_existing_record():
    existing = SimpleNamespace(voucher_id=VOUCHER)
    assert check_existing(existing, voucher_id=str(VOUCHER)) is existing


def test_the_same_number_for_another_voucher_is_taken():
    with pytest.raises(Conflict) as refused:
        check_existing(SimpleNamespace(voucher_id=uuid.uuid4()), voucher_id=VOUCHER)
    assert refused.value.code == "certificate_number_taken"
