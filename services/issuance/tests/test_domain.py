"""Issuance's rules: which template terms hang together, what a voucher carries away
(the snapshot), who may claim, and the training-project catalogue."""
import datetime
import json
import uuid
from types import SimpleNamespace

import pytest

from common.errors import Forbidden, InvalidInput, RuleViolation
from issuance.domain.catalogue import check_allowed_project, check_project, check_uploader_region
from issuance.domain.claims import already_claimed, check_claim, pool_exhausted
from issuance.domain.templates import (Distribution, Function, check_terms, snapshot, subsidy_ratio_percent,
                                       voucher_valid_until)

JAN_1, JUN_30, DEC_31 = datetime.date(2021, 1, 1), datetime.date(2021, 6, 30), datetime.date(2021, 12, 31)


def _terms(**overrides):
    return {"region_code": "430100", "function": Function.FACE_VALUE, "face_value_fen": 80_000,
            "subsidy_standard_fen": None, "valid_from": JAN_1, "valid_until": DEC_31, "quantity": 1000, **overrides}


def _refusal(**overrides):
    with pytest.raises(InvalidInput) as refused:
        check_terms(**_terms(**overrides))
    return refused.value.code


def _template(**overrides):
    return SimpleNamespace(**{
        "id": uuid.UUID("6f1c1f5e-3f43-4a36-9d7a-0d1f7c6c2b11"), "region_code": "430100",
        "function": Function.CREDIT, "distribution": Distribution.GENERAL, "face_value_fen": None,
        "subsidy_standard_fen": 150_000, "occupation": "6-01-02-01", "skill_level": 4,
        "institution_ids": None, "eligible_groups": None, "funding_source": "unemployment_insurance",
        "payee": "institution", "valid_from": JAN_1, "valid_until": DEC_31, "validity_days": None,
        "one_training_per_occupation_year": True, "reversal_grace_hours": 24, "version": 1, "subsidy_ratios": None,
        "default_subsidy_ratio_percent": 100, "requires_certificate": False, **overrides})


# --- check_terms ----------------------------------------------------------------

@pytest.mark.parametrize("terms", [
    {},
    {"function": Function.CREDIT, "face_value_fen": None, "subsidy_standard_fen": 150_000},
    {"function": Function.CHECKIN_ONLY, "face_value_fen": None, "subsidy_standard_fen": None},
    {"function": Function.CHECKIN_ONLY, "face_value_fen": 0, "subsidy_standard_fen": 0},
    {"region_code": "000000"},
    {"valid_until": JAN_1},
    {"quantity": 1},
    {"function": "face_value"},
])
def test_consistent_terms_are_accepted(terms):
    assert check_terms(**_terms(**terms)) is None


@pytest.mark.parametrize("region_code", ["4301", "4301000", "43010a", 430100, None, ""])
def test_a_region_that_is_not_six_digits_is_refused(region_code):
    assert _refusal(region_code=region_code) == "invalid_region"


@pytest.mark.parametrize("face_value_fen", [None, 0])
def test_a_face_value_voucher_needs_a_face_value(face_value_fen):
    assert _refusal(face_value_fen=face_value_fen) == "face_value_required"


def test_a_negative_amount_is_refused():
    with pytest.raises(InvalidInput, match="face_value_required"):
        check_terms(**_terms(face_value_fen=-80_000))
    with pytest.raises(InvalidInput, match="subsidy_standard_required"):
        check_terms(**_terms(function=Function.CREDIT, face_value_fen=None, subsidy_standard_fen=-150_000))


@pytest.mark.parametrize("subsidy_standard_fen", [None, 0])
def test_a_credit_voucher_needs_a_subsidy_standard(subsidy_standard_fen):
    assert _refusal(function=Function.CREDIT, face_value_fen=None,
                    subsidy_standard_fen=subsidy_standard_fen) == "subsidy_standard_required"


@pytest.mark.parametrize("face_value_fen, subsidy_standard_fen", [(80_000, None), (None, 150_000), (1, 1)])
def test_a_checkin_only_voucher_carries_no_amount(face_value_fen, subsidy_standard_fen):
    assert _refusal(function=Function.CHECKIN_ONLY, face_value_fen=face_value_fen,
                    subsidy_standard_fen=subsidy_standard_fen) == "checkin_only_pays_nothing"


def test_a_validity_that_ends_before_it_starts_is_refused():
    assert _refusal(valid_from=JUN_30, valid_until=JUN_30 - datetime.timedelta(days=1)) == "invalid_validity"


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_template_must_make_at_least_one_voucher(quantity):
    assert _refusal(quantity=quantity) == "invalid_quantity"


def test_refusals_are_invalid_input_errors_with_status_400():
    with pytest.raises(InvalidInput) as refused:
        check_terms(**_terms(quantity=0))
    assert refused.value.status == 400
    assert refused.value.as_dict()["error"] == "invalid_quantity"


# --- snapshot and a voucher's own validity ------------------------------------------------

def test_the_snapshot_carries_the_terms_a_voucher_was_issued_under():
    assert snapshot(_template()) == {
        "template_id": "6f1c1f5e-3f43-4a36-9d7a-0d1f7c6c2b11", "version": 1, "region_code": "430100",
        "function": "credit", "distribution": "general", "face_value_fen": None, "subsidy_standard_fen": 150_000,
        "occupation": "6-01-02-01", "skill_level": 4, "institution_ids": None, "eligible_groups": None,
        "funding_source": "unemployment_insurance", "payee": "institution", "valid_from": "2021-01-01",
        "valid_until": "2021-12-31", "validity_days": None, "one_training_per_occupation_year": True,
        "reversal_grace_hours": 24, "subsidy_ratios": None, "default_subsidy_ratio_percent": 100,
        "requires_certificate": False}


def test_a_voucher_is_valid_until_the_templates_last_day_or_n_days_from_its_claim():
    assert voucher_valid_until(snapshot(_template()), JUN_30) == DEC_31
    assert voucher_valid_until(snapshot(_template(validity_days=30)), JUN_30) == datetime.date(2021, 7, 29)
    assert voucher_valid_until(snapshot(_template(validity_days=1)), JUN_30) == JUN_30


@pytest.mark.parametrize("terms, code", [
    ({"validity_days": 0}, "invalid_validity"),
    ({"eligible_groups": ["unemployed", "astronaut"]}, "unknown_group"),
    ({"payee": "bank"}, "unknown_payee"),
    ({"function": Function.CHECKIN_ONLY, "face_value_fen": None, "payee": "individual"}, "checkin_only_pays_nothing"),
])
def test_the_new_terms_are_checked(terms, code):
    payee = terms.pop("payee", "institution")
    with pytest.raises(InvalidInput) as refused:
        check_terms(**_terms(**terms), payee=payee)
    assert refused.value.code == code


CREDIT = {"function": Function.CREDIT, "face_value_fen": None, "subsidy_standard_fen": 150_000}


@pytest.mark.parametrize("terms", [
    {**CREDIT, "subsidy_ratios": {"unemployed": 100, "graduate": 80}, "default_subsidy_ratio_percent": 60},
    {**CREDIT, "subsidy_ratios": {"disabled": 1}},
    {**CREDIT, "subsidy_ratios": {}, "default_subsidy_ratio_percent": 50},
    {"subsidy_ratios": None, "default_subsidy_ratio_percent": 100},
    {"subsidy_ratios": {}},
])
def test_subsidy_ratios_of_a_credit_voucher_are_accepted(terms):
    assert check_terms(**_terms(**terms)) is None


@pytest.mark.parametrize("terms, code", [
    ({**CREDIT, "subsidy_ratios": {"unemployed": 100, "astronaut": 50}}, "unknown_group"),
    ({"subsidy_ratios": {"unemployed": 80}}, "ratio_for_credit_only"),
    ({"default_subsidy_ratio_percent": 60}, "ratio_for_credit_only"),
    ({"function": Function.CHECKIN_ONLY, "face_value_fen": None, "subsidy_ratios": {"veteran": 50}},
     "ratio_for_credit_only"),
    ({**CREDIT, "subsidy_ratios": {"unemployed": 0}}, "invalid_subsidy_ratio"),
    ({**CREDIT, "subsidy_ratios": {"unemployed": 101}}, "invalid_subsidy_ratio"),
    ({**CREDIT, "subsidy_ratios": {"unemployed": 50.5}}, "invalid_subsidy_ratio"),
    ({**CREDIT, "default_subsidy_ratio_percent": 0}, "invalid_subsidy_ratio"),
    ({**CREDIT, "default_subsidy_ratio_percent": None}, "invalid_subsidy_ratio"),
])
def test_subsidy_ratios_are_checked(terms, code):
    assert _refusal(**terms) == code


def _ratio(groups, **overrides):
    return subsidy_ratio_percent(snapshot(_template(**overrides)), groups)


RATIOS = {"subsidy_ratios": {"unemployed": 100, "graduate": 80}, "default_subsidy_ratio_percent": 60}


def test_a_holder_in_a_listed_group_gets_its_ratio_and_anyone_else_the_default():
    assert _ratio([("unemployed", "430100")], **RATIOS) == 100
    assert _ratio([("graduate", "430100")], **RATIOS) == 80
    assert _ratio([], **RATIOS) == 60
    assert _ratio([("veteran", "430100")], **RATIOS) == 60  # a group the template does not list


def test_a_holder_in_several_listed_groups_gets_the_best_ratio():
    assert _ratio([("graduate", "430100"), ("unemployed", "430100"), ("veteran", "430100")], **RATIOS) == 100


def test_a_group_counts_only_where_its_region_overlaps_the_templates():
    assert _ratio([("graduate", "430000")], **RATIOS) == 80  # recorded by the province
    assert _ratio([("graduate", "430102")], **RATIOS) == 80  # by a district of the city
    assert _ratio([("unemployed", "430200"), ("unemployed", "370000")], **RATIOS) == 60  # elsewhere
    assert _ratio([("unemployed", "430200"), ("graduate", "430100")], **RATIOS) == 80


def test_without_ratios_everyone_gets_the_default():
    assert _ratio([("unemployed", "430100")]) == 100
    assert _ratio([("unemployed", "430100")], default_subsidy_ratio_percent=75) == 75


def test_a_version_made_before_subsidy_ratios_pays_the_whole_standard():
    terms = snapshot(_template())
    for name in ("subsidy_ratios", "default_subsidy_ratio_percent", "requires_certificate"):
        del terms[name]
    assert subsidy_ratio_percent(terms, [("unemployed", "430100")]) == 100


def test_the_snapshot_carries_the_subsidy_terms():
    taken = snapshot(_template(requires_certificate=True, **RATIOS))
    assert (taken["subsidy_ratios"], taken["default_subsidy_ratio_percent"], taken["requires_certificate"]) == (
        {"unemployed": 100, "graduate": 80}, 60, True)
    assert taken["subsidy_ratios"] is not RATIOS["subsidy_ratios"]


def test_the_snapshot_lists_allowed_institutions_as_text():
    first, second = uuid.uuid4(), uuid.uuid4()
    assert snapshot(_template(institution_ids=[first, second]))["institution_ids"] == [str(first), str(second)]


def test_an_empty_institution_list_means_any_institution():
    assert snapshot(_template(institution_ids=[]))["institution_ids"] is None


def test_the_snapshot_is_plain_json():
    data = snapshot(_template(institution_ids=[uuid.uuid4()]))
    assert json.loads(json.dumps(data)) == data


def test_the_snapshot_does_not_change_when_the_template_does_later():
    template = _template(institution_ids=[uuid.uuid4()])
    taken = snapshot(template)
    template.institution_ids.append(uuid.uuid4())
    template.subsidy_standard_fen = 1
    assert len(taken["institution_ids"]) == 1 and taken["subsidy_standard_fen"] == 150_000


# --- claims -----------------------------------------------------------------------------

def _claim(day=JUN_30, channel_region="430000", groups=(), trained=(), **overrides):
    return check_claim(snapshot(_template(**overrides)), day=day, channel_region=channel_region, groups=groups,
                       trained_occupations=set(trained))


def _claim_refusal(**kwargs):
    with pytest.raises(RuleViolation) as refused:
        _claim(**kwargs)
    assert refused.value.status == 422 and refused.value.message
    return refused.value


def test_a_targeted_voucher_cannot_be_claimed():
    assert _claim_refusal(distribution=Distribution.TARGETED).code == "not_claimable"


@pytest.mark.parametrize("day", [JAN_1 - datetime.timedelta(days=1), DEC_31 + datetime.timedelta(days=1),
                                 datetime.date(2022, 6, 1)])
def test_a_general_voucher_cannot_be_claimed_outside_its_validity(day):
    refusal = _claim_refusal(day=day)
    assert refusal.code == "template_not_valid_now"
    assert "2021-01-01" in refusal.message and "2021-12-31" in refusal.message


@pytest.mark.parametrize("day", [JAN_1, JUN_30, DEC_31])
def test_a_general_voucher_can_be_claimed_within_its_validity(day):
    assert _claim(day=day) is None


def test_a_targeted_voucher_is_refused_as_not_claimable_even_outside_its_validity():
    assert _claim_refusal(distribution="targeted", day=datetime.date(2030, 1, 1)).code == "not_claimable"


@pytest.mark.parametrize("channel_region, allowed", [
    ("430000", True), ("430100", True), ("430102", True), ("000000", True), ("370000", False), ("430200", False)])
def test_a_channel_claims_only_templates_of_its_region_or_around_it(channel_region, allowed):
    if allowed:
        assert _claim(channel_region=channel_region) is None
    else:
        assert _claim_refusal(channel_region=channel_region).code == "outside_channel_region"


def test_a_template_for_target_groups_is_claimed_only_by_their_members_in_an_overlapping_region():
    offered = {"eligible_groups": ["unemployed", "graduate"]}
    assert _claim(groups=[("graduate", "430100")], **offered) is None
    assert _claim(groups=[("unemployed", "430000")], **offered) is None  # recorded by the province
    assert _claim(groups=[("unemployed", "430102")], **offered) is None  # by a district of the city
    for groups in ([], [("veteran", "430100")], [("unemployed", "370000")], [("unemployed", "430200")]):
        refusal = _claim_refusal(groups=groups, **offered)
        assert refusal.code == "not_in_eligible_group" and "unemployed" in refusal.message


def test_one_voucher_funded_training_per_occupation_per_year():
    refusal = _claim_refusal(trained=["6-01-02-01"])
    assert refusal.code == "occupation_trained_this_year" and "6-01-02-01" in refusal.message
    assert _claim(trained=["4-01-01-01"]) is None
    assert _claim(trained=["6-01-02-01"], one_training_per_occupation_year=False) is None


def test_pool_and_duplicate_refusals_name_their_rules():
    assert (pool_exhausted().code, already_claimed().code) == ("pool_exhausted", "already_claimed")
    assert isinstance(pool_exhausted(), RuleViolation) and pool_exhausted().status == 422


# --- training projects (培训项目目录) ------------------------------------------------------

def _project(**overrides):
    return {"region_code": "430100", "occupation": "6-31-01-03", "skill_level": 4, "subsidy_standard_fen": 120_000,
            **overrides}


def _project_refusal(**overrides):
    with pytest.raises(InvalidInput) as refused:
        check_project(**_project(**overrides))
    assert refused.value.message
    return refused.value.code


@pytest.mark.parametrize("project", [{}, {"occupation": "4-01-02-01-03"}, {"skill_level": 1}, {"skill_level": 5},
                                     {"subsidy_standard_fen": 1}, {"region_code": "430102"}])
def test_a_well_formed_project_is_accepted(project):
    assert check_project(**_project(**project)) is None


@pytest.mark.parametrize("occupation", ["", "electrician", "6-31-01", "6-31-01-3", "9-31-01-03", "0-31-01-03",
                                        "6-31-01-03\n", " 6-31-01-03", "6-31-01-03-1", "６-31-01-03", None])
def test_a_project_needs_a_gb_t_6565_occupation_code(occupation):
    assert _project_refusal(occupation=occupation) == "invalid_occupation"


@pytest.mark.parametrize("skill_level", [0, 6, -1, None])
def test_a_project_has_a_skill_level_from_1_to_5(skill_level):
    assert _project_refusal(skill_level=skill_level) == "invalid_skill_level"


@pytest.mark.parametrize("subsidy_standard_fen", [0, -120_000, None, 1.5])
def test_a_project_pays_a_positive_subsidy_standard_in_fen(subsidy_standard_fen):
    assert _project_refusal(subsidy_standard_fen=subsidy_standard_fen) == "subsidy_standard_required"


@pytest.mark.parametrize("region_code", ["4301", "43010a", None])
def test_a_project_belongs_to_a_region(region_code):
    assert _project_refusal(region_code=region_code) == "invalid_region"


@pytest.mark.parametrize("uploader, region, allowed", [
    ("430100", "430100", True), ("430100", "430102", True), ("430000", "430102", True), ("000000", "370100", True),
    ("430100", "430000", False), ("430100", "430200", False), ("430102", "430100", False)])
def test_a_bureau_adds_projects_to_its_own_region_or_one_inside_it(uploader, region, allowed):
    if allowed:
        assert check_uploader_region(uploader, region) is None
    else:
        with pytest.raises(Forbidden) as refused:
            check_uploader_region(uploader, region)
        assert refused.value.code == "other_region" and region in refused.value.message


@pytest.mark.parametrize("institution, project, allowed", [
    ("430102", "430102", True),   # its own region's project
    ("430102", "430100", True),   # its city's
    ("430102", "430000", True),   # its province's
    ("430100", "430102", True),   # a district's, for a city-wide institution
    ("430102", "430103", False),  # a neighbouring district's
    ("430102", "430200", False),  # another city's
    ("430102", "370000", False)])  # another province's
def test_an_institution_is_allowed_projects_of_a_region_containing_or_inside_its_own(institution, project, allowed):
    if allowed:
        assert check_allowed_project(institution, project_id="p-1", project_region=project) is None
    else:
        with pytest.raises(RuleViolation) as refused:
            check_allowed_project(institution, project_id="p-1", project_region=project)
        assert refused.value.code == "project_outside_region" and refused.value.status == 422
        assert "p-1" in refused.value.message and project in refused.value.message
