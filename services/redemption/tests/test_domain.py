"""Redemption's rules: which voucher states may be used, where and when a claimed voucher may
be used, one voucher-funded training per person, occupation and year (Wuxi), and when an
unused voucher expires."""
import datetime
import uuid
from types import SimpleNamespace

import pytest

from common.errors import Conflict, DomainError, Forbidden, InvalidInput, RuleViolation
from redemption.domain.use import (check_once_a_year, check_reversal, check_scan_time, check_use, china_day,
                                   earlier_scan_wins, expired_on, refuse_by_status)

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
                              "region_code": "430102", **overrides})


def _use(terms=None, training_class=None, institution_id=INSTITUTION, day=JUN_30, valid_until=None,
         allowed_projects=()):
    terms = terms or _terms()
    return check_use(terms, valid_until=valid_until or datetime.date.fromisoformat(terms["valid_until"]),
                     institution_id=institution_id, training_class=training_class or _class(), day=day,
                     allowed_projects=allowed_projects)


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


def test_a_voided_voucher_is_refused_as_voided():
    assert refuse_by_status("void").code == "voided"


def test_a_returned_voucher_is_refused_as_returned():
    refusal = refuse_by_status("returned")
    assert isinstance(refusal, Conflict) and refusal.code == "returned" and "退券" in refusal.message


def test_an_expired_voucher_is_refused_as_expired():
    refusal = refuse_by_status("expired")
    assert isinstance(refusal, Conflict) and refusal.code == "expired" and refusal.status == 409


@pytest.mark.parametrize("status", ["issued", "revoked", "", "CLAIMED"])
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


def test_a_voucher_valid_for_days_after_its_claim_ends_on_its_own_last_day_not_the_templates():
    own_last_day = datetime.date(2021, 7, 15)
    assert _use(valid_until=own_last_day, day=own_last_day) is None
    assert _refusal(valid_until=own_last_day, day=datetime.date(2021, 7, 16)) == "voucher_expired"
    with pytest.raises(RuleViolation) as refused:
        _use(valid_until=own_last_day, day=datetime.date(2021, 7, 16))
    assert "2021-07-15" in refused.value.message


def test_a_voucher_before_its_first_day_is_not_yet_valid():
    assert _refusal(day=datetime.date(2020, 12, 31)) == "voucher_not_yet_valid"


def test_the_class_check_comes_before_the_validity_check():
    assert _refusal(training_class=_class(institution_id=OTHER_INSTITUTION),
                    day=datetime.date(2022, 1, 1)) == "class_not_of_institution"


def test_refusals_are_rule_violations_with_status_422():
    with pytest.raises(RuleViolation) as refused:
        _use(day=datetime.date(2022, 1, 1))
    assert refused.value.status == 422 and "2021-12-31" in refused.value.message


# --- the training projects an institution may train for -------------------------------------

def test_an_institution_with_no_project_list_is_not_limited():
    assert _use(allowed_projects=()) is None
    assert _use(allowed_projects=None) is None


def test_an_institution_allowed_the_classs_occupation_and_level_may_use_the_voucher():
    assert _use(allowed_projects=[("4-01-01-01", 3), ("6-01-02-01", 4)]) is None


def test_projects_may_arrive_as_lists_as_json_gives_them():
    assert _use(allowed_projects=[["6-01-02-01", 4]]) is None


@pytest.mark.parametrize("allowed", [[("6-01-02-01", 3)], [("4-01-01-01", 4)], [("6-01-02-01", 5), ("4-01-01-01", 4)]])
def test_a_class_outside_the_institutions_allowed_projects_is_refused(allowed):
    with pytest.raises(RuleViolation) as refused:
        _use(allowed_projects=allowed)
    assert (refused.value.code, refused.value.status) == ("project_not_allowed", 422)
    assert "6-01-02-01 level 4" in refused.value.message and "setInstitutionProjects" in refused.value.message


def test_the_project_check_follows_the_institution_checks_and_precedes_the_voucher_checks():
    outside = [("4-01-01-01", 4)]
    assert _refusal(training_class=_class(institution_id=OTHER_INSTITUTION),
                    allowed_projects=outside) == "class_not_of_institution"
    assert _refusal(terms=_terms(institution_ids=[str(OTHER_INSTITUTION)]),
                    allowed_projects=outside) == "institution_not_allowed"
    assert _refusal(day=datetime.date(2022, 1, 1), allowed_projects=outside) == "project_not_allowed"


# --- one voucher-funded training per person, occupation and year (Wuxi §四(三)) -----------

def _at(text):
    return datetime.datetime.fromisoformat(text)


def _trained(earlier_uses, terms=None, day=JUN_30):
    with pytest.raises(RuleViolation) as refused:
        check_once_a_year(terms or _terms(), day=day, earlier_uses=earlier_uses)
    return refused.value


def test_a_person_who_never_used_a_voucher_may_train():
    assert check_once_a_year(_terms(), day=JUN_30, earlier_uses=[]) is None


def test_a_second_voucher_funded_training_in_the_same_occupation_this_year_is_refused():
    refusal = _trained([("6-01-02-01", _at("2021-03-01T10:00:00+08:00"))])
    assert (refusal.code, refusal.status) == ("occupation_trained_this_year", 422)
    assert refusal.message == "This person already trained in 6-01-02-01 with a voucher this year."


def test_a_training_in_another_occupation_this_year_does_not_count():
    assert check_once_a_year(_terms(), day=JUN_30,
                             earlier_uses=[("4-01-01-01", _at("2021-03-01T10:00:00+08:00"))]) is None


def test_a_training_in_the_same_occupation_last_year_does_not_count():
    assert check_once_a_year(_terms(), day=datetime.date(2021, 1, 1),
                             earlier_uses=[("6-01-02-01", _at("2020-12-31T23:59:59+08:00"))]) is None


def test_the_year_of_an_earlier_use_is_chinas():
    # 17:00 UTC on 31 December 2020 is 01:00 on 1 January 2021 in Beijing: this year.
    assert _trained([("6-01-02-01", _at("2020-12-31T17:00:00+00:00"))],
                    day=datetime.date(2021, 1, 1)).code == "occupation_trained_this_year"
    assert check_once_a_year(_terms(), day=datetime.date(2021, 1, 1),
                             earlier_uses=[("6-01-02-01", _at("2020-12-31T15:59:59+00:00"))]) is None


def test_a_template_may_waive_the_once_a_year_rule():
    terms = _terms(one_training_per_occupation_year=False)
    assert check_once_a_year(terms, day=JUN_30, earlier_uses=[("6-01-02-01", _at("2021-03-01T10:00:00+08:00"))]) \
        is None


# --- days and expiry ----------------------------------------------------------------------

def test_a_day_is_chinas():
    assert china_day(_at("2021-06-30T16:00:00+00:00")) == datetime.date(2021, 7, 1)
    assert china_day(_at("2021-06-30T15:59:59+00:00")) == JUN_30


def test_an_unused_voucher_expires_the_day_after_its_last_day():
    assert expired_on(datetime.date(2021, 12, 31)) == datetime.date(2022, 1, 1)
    assert expired_on(datetime.date(2024, 2, 28)) == datetime.date(2024, 2, 29)


# --- region ---------------------------------------------------------------------

def test_a_voucher_is_used_only_for_a_class_inside_its_templates_region():
    assert _use(training_class=_class(region_code="430105")) is None  # a district of the template's city
    assert _refusal(training_class=_class(region_code="430200")) == "outside_region"  # another city


# --- offline scans --------------------------------------------------------------

NOON = datetime.datetime(2021, 6, 30, 4, 0, tzinfo=datetime.timezone.utc)  # 12:00 in Beijing


def test_an_offline_scan_from_the_last_week_is_accepted_and_one_from_the_future_or_older_is_not():
    assert check_scan_time(NOON - datetime.timedelta(days=6, hours=23), NOON) is None
    assert check_scan_time(NOON + datetime.timedelta(minutes=4), NOON) is None  # a clock a little ahead
    with pytest.raises(InvalidInput, match="ahead"):
        check_scan_time(NOON + datetime.timedelta(minutes=6), NOON)
    with pytest.raises(RuleViolation) as old:
        check_scan_time(NOON - datetime.timedelta(days=7, minutes=1), NOON)
    assert old.value.code == "scan_too_old"


def test_an_earlier_offline_scan_wins_over_a_standing_use_only_inside_its_grace_window():
    standing = NOON - datetime.timedelta(hours=2)
    earlier, later = standing - datetime.timedelta(minutes=5), standing + datetime.timedelta(minutes=5)
    assert earlier_scan_wins(_terms(), standing_used_at=standing, scanned_at=earlier, now=NOON)
    assert not earlier_scan_wins(_terms(), standing_used_at=standing, scanned_at=later, now=NOON)
    assert not earlier_scan_wins(_terms(reversal_grace_hours=1), standing_used_at=standing, scanned_at=earlier,
                                 now=NOON)


# --- reversal -------------------------------------------------------------------

def _reversal(status="used", used_by=INSTITUTION, used_at=NOON - datetime.timedelta(hours=3), **terms):
    check_reversal(_terms(**terms), status=status, used_at=used_at, used_by=used_by, institution_id=INSTITUTION,
                   now=NOON)


def test_the_institution_that_used_a_voucher_reverses_it_inside_the_grace_window():
    assert _reversal() is None
    assert _reversal(reversal_grace_hours=3) is None  # the last moment of the window


def test_a_reversal_is_refused_after_the_window_by_another_institution_or_of_an_unused_voucher():
    for kwargs, kind, code in [({"reversal_grace_hours": 2}, RuleViolation, "reversal_window_passed"),
                               ({"used_by": OTHER_INSTITUTION}, Forbidden, "other_institution"),
                               ({"status": "claimed"}, Conflict, "not_used"),
                               ({"status": "settled"}, Conflict, "written_off")]:
        with pytest.raises(DomainError) as refused:
            _reversal(**kwargs)
        assert (type(refused.value), refused.value.code) == (kind, code)
