"""Redemption's rules: which voucher states may be used, and where and when a claimed
voucher may be used."""
import datetime
import uuid
from types import SimpleNamespace

import pytest

from common.errors import Conflict, RuleViolation
from redemption.domain.use import check_use, refuse_by_status

INSTITUTION, OTHER_INSTITUTION = uuid.uuid4(), uuid.uuid4()
JUN_30 = datetime.date(2021, 6, 30)


def _terms(**overrides):
    return {"template_id": str(uuid.uuid4()), "region_code": "430100", "function": "credit",
            "distribution": "general", "face_value_fen": None, "subsidy_standard_fen": 150_000,
            "occupation": "6-01-02-01", "skill_level": 4, "institution_ids": None,
            "funding_source": "unemployment_insurance", "valid_from": "2021-01-01", "valid_until": "2021-12-31",
            **overrides}


def _class(**overrides):
    return SimpleNamespace(**{"institution_id": INSTITUTION, "occupation": "6-01-02-01", "skill_level": 4,
                              **overrides})


def _use(terms=None, training_class=None, institution_id=INSTITUTION, day=JUN_30):
    return check_use(terms or _terms(), institution_id=institution_id, training_class=training_class or _class(),
                     day=day)


def _refusal(**kwargs):
    with pytest.raises(RuleViolation) as refused:
        _use(**kwargs)
    return refused.value.code


# --- status ---------------------------------------------------------------------

def test_a_claimed_voucher_may_be_used():
    assert refuse_by_status("claimed") is None


def test_a_used_voucher_is_refused_as_already_used():
    refusal = refuse_by_status("used")
    assert isinstance(refusal, Conflict) and refusal.code == "already_used" and refusal.status == 409


def test_a_settled_voucher_is_refused_as_written_off():
    refusal = refuse_by_status("settled")
    assert isinstance(refusal, Conflict) and refusal.code == "written_off"


@pytest.mark.parametrize("status", ["issued", "expired", "revoked", "", "CLAIMED"])
def test_any_other_status_is_refused_as_not_usable_and_named(status):
    refusal = refuse_by_status(status)
    assert isinstance(refusal, Conflict) and refusal.code == "not_usable"
    assert f"is {status} " in refusal.message


# --- where and when -------------------------------------------------------------------

def test_a_voucher_is_used_for_a_matching_class_of_the_scanning_institution_within_its_validity():
    assert _use() is None


@pytest.mark.parametrize("day", [datetime.date(2021, 1, 1), datetime.date(2021, 12, 31)])
def test_a_voucher_may_be_used_on_the_first_and_last_day_of_its_validity(day):
    assert _use(day=day) is None


def test_an_institution_cannot_use_a_voucher_for_another_institutions_class():
    assert _refusal(training_class=_class(institution_id=OTHER_INSTITUTION)) == "class_not_of_institution"


def test_a_voucher_restricted_to_other_institutions_is_refused_here():
    terms = _terms(institution_ids=[str(OTHER_INSTITUTION)])
    assert _refusal(terms=terms) == "institution_not_allowed"


def test_a_voucher_restricted_to_this_institution_is_accepted_here():
    terms = _terms(institution_ids=[str(OTHER_INSTITUTION), str(INSTITUTION)])
    assert _use(terms=terms) is None


def test_an_empty_institution_list_allows_any_institution():
    assert _use(terms=_terms(institution_ids=[])) is None


@pytest.mark.parametrize("training_class", [
    _class(occupation="4-01-01-01"), _class(skill_level=3), _class(occupation="4-01-01-01", skill_level=5)])
def test_a_class_of_another_occupation_or_skill_level_is_refused(training_class):
    assert _refusal(training_class=training_class) == "occupation_mismatch"


def test_a_voucher_after_its_last_day_is_expired():
    assert _refusal(day=datetime.date(2022, 1, 1)) == "voucher_expired"


def test_a_voucher_before_its_first_day_is_not_yet_valid():
    assert _refusal(day=datetime.date(2020, 12, 31)) == "voucher_not_yet_valid"


def test_the_class_check_comes_before_the_validity_check():
    assert _refusal(training_class=_class(institution_id=OTHER_INSTITUTION),
                    day=datetime.date(2022, 1, 1)) == "class_not_of_institution"


def test_refusals_are_rule_violations_with_status_422():
    with pytest.raises(RuleViolation) as refused:
        _use(day=datetime.date(2022, 1, 1))
    assert refused.value.status == 422 and "2021-12-31" in refused.value.message
