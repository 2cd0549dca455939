"""Settlement's rules: what a used voucher pays (integer fen), which application states
may follow which, and the verdict on each line of an application."""
import itertools
import uuid
from types import SimpleNamespace

import pytest

from common.errors import Conflict, Forbidden, RuleViolation
from settlement.domain.amounts import payable_fen
from settlement.domain import ledger
from settlement.domain.claims import (APPLICATION, APPROVED, DIRECT, DISBURSED, IN_REVIEW, INITIAL, PARTLY_APPROVED,
                                      REJECTED, SUBMITTED, TRANSITIONS, LineVerdict, Payable, advance, check_approver,
                                      check_reviewer, instructions, judge_line, needs_second_approval, outcome)

FACE_VALUE = {"function": "face_value", "face_value_fen": 80_000, "subsidy_standard_fen": None}
CREDIT = {"function": "credit", "face_value_fen": None, "subsidy_standard_fen": 150_000}
CHECKIN_ONLY = {"function": "checkin_only", "face_value_fen": None, "subsidy_standard_fen": None}


# --- amounts ----------------------------------------------------------------------

def test_a_face_value_voucher_pays_its_face_value():
    assert payable_fen(FACE_VALUE) == 80_000


def test_a_face_value_voucher_is_not_reduced_by_a_subsidy_ratio():
    assert payable_fen(FACE_VALUE, ratio_percent=60) == 80_000


def test_a_credit_voucher_pays_the_full_standard_by_default():
    assert payable_fen(CREDIT) == 150_000


@pytest.mark.parametrize("standard, ratio, expected", [
    (150_000, 80, 120_000), (150_000, 50, 75_000), (99_999, 33, 32_999), (12_345, 67, 8_271), (1, 99, 0),
    (150_000, 0, 0)])
def test_a_credit_voucher_pays_standard_times_ratio_rounded_down_to_the_fen(standard, ratio, expected):
    assert payable_fen({**CREDIT, "subsidy_standard_fen": standard}, ratio_percent=ratio) == expected


def test_amounts_are_integers_even_when_the_snapshot_holds_text():
    for terms in ({**FACE_VALUE, "face_value_fen": "80000"}, {**CREDIT, "subsidy_standard_fen": "150000"}):
        amount = payable_fen(terms, ratio_percent=75)
        assert type(amount) is int


@pytest.mark.parametrize("terms", [CHECKIN_ONLY, {**CHECKIN_ONLY, "function": "something_else"}])
def test_a_voucher_that_carries_no_subsidy_is_not_payable(terms):
    with pytest.raises(RuleViolation) as refused:
        payable_fen(terms)
    assert refused.value.code == "not_payable"


# --- application workflow ----------------------------------------------------------------

STATES = (SUBMITTED, IN_REVIEW, APPROVED, PARTLY_APPROVED, REJECTED, DISBURSED)
LEGAL = {(SUBMITTED, IN_REVIEW), (SUBMITTED, REJECTED), (IN_REVIEW, APPROVED), (IN_REVIEW, PARTLY_APPROVED),
         (IN_REVIEW, REJECTED), (APPROVED, DISBURSED), (PARTLY_APPROVED, DISBURSED)}


def test_the_workflow_has_exactly_seven_moves():
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize("current, target", sorted(LEGAL))
def test_a_legal_move_gives_the_new_state(current, target):
    assert advance(current, target) == target


@pytest.mark.parametrize("current, target", sorted(set(itertools.product(STATES, STATES)) - LEGAL))
def test_every_other_move_is_an_illegal_transition(current, target):
    with pytest.raises(Conflict) as refused:
        advance(current, target)
    assert refused.value.code == "illegal_transition"
    assert current in refused.value.message and target in refused.value.message


def test_an_application_starts_submitted_and_a_direct_settlement_is_born_disbursed():
    assert INITIAL == {APPLICATION: SUBMITTED, DIRECT: DISBURSED}


def test_a_direct_settlement_can_never_be_reviewed_again():
    for target in STATES:
        with pytest.raises(Conflict):
            advance(INITIAL[DIRECT], target)


@pytest.mark.parametrize("current", STATES)
def test_an_unknown_target_state_is_an_illegal_transition(current):
    with pytest.raises(Conflict):
        advance(current, "paid")


def test_nobody_reviews_what_they_submitted():
    assert check_reviewer(submitted_by="inst-1", reviewer="mgr-1") is None
    with pytest.raises(Forbidden) as refused:
        check_reviewer(submitted_by="mgr-1", reviewer="mgr-1")
    assert refused.value.code == "own_application"


@pytest.mark.parametrize("approver, first, code", [("inst-1", None, "own_application"), ("mgr-1", None, "reviewed_it"),
                                                   ("mgr-2", "mgr-2", "approved_it_already")])
def test_nobody_approves_what_they_submitted_reviewed_or_approved_already(approver, first, code):
    with pytest.raises(Forbidden) as refused:
        check_approver(submitted_by="inst-1", reviewer="mgr-1", first_approver=first, approver=approver)
    assert refused.value.code == code


def test_another_manager_approves_and_a_third_confirms_above_the_dual_approval_amount():
    assert check_approver(submitted_by="inst-1", reviewer="mgr-1", first_approver=None, approver="mgr-2") is None
    assert check_approver(submitted_by="inst-1", reviewer="mgr-1", first_approver="mgr-2", approver="mgr-3") is None
    assert needs_second_approval(10_000_001, 10_000_000, None)
    assert not needs_second_approval(10_000_000, 10_000_000, None)  # at the amount itself, one approver
    assert not needs_second_approval(20_000_000, 10_000_000, "mgr-2")  # the second has come
    assert not needs_second_approval(20_000_000, None, None)  # no dual approval configured


def test_an_approval_is_whole_partial_or_a_rejection_by_its_lines():
    assert outcome(["a", "b"], []) == APPROVED
    assert outcome(["a"], ["b"]) == PARTLY_APPROVED
    assert outcome([], ["a", "b"]) == REJECTED


def test_an_institution_is_paid_once_per_funding_source_and_each_individual_on_their_own():
    def payable(source, payee, person, amount):
        return Payable(funding_source=source, payee=payee, institution_id="inst", person_key=person,
                       amount_fen=amount)
    lines = [payable("就业补助资金", "institution", "p1", 80000), payable("就业补助资金", "institution", "p2", 50000),
             payable("失业保险基金", "institution", "p3", 30000), payable("就业补助资金", "individual", "p4", 20000),
             payable("就业补助资金", "individual", "p4", 10000), payable("就业补助资金", "enterprise", "p5", 5000)]
    assert instructions(lines) == [("失业保险基金", "institution", "inst", 30000),
                                   ("就业补助资金", "enterprise", "inst", 5000),
                                   ("就业补助资金", "individual", "p4", 30000),
                                   ("就业补助资金", "institution", "inst", 130000)]
    assert sum(amount for *_, amount in instructions(lines)) == sum(line.amount_fen for line in lines)


# --- the funding pools' ledger ----------------------------------------------------------

def test_every_ledger_movement_takes_from_one_account_and_gives_to_another():
    assert ledger.movement("allocate") == ("budget", "available")
    assert ledger.movement("reserve") == ("available", "reserved")
    assert ledger.movement("pay") == ("reserved", "paid")
    assert ledger.movement("release") == ("reserved", "available")


def test_the_pool_that_pays_is_the_most_specific_one_covering_the_region():
    province, city = SimpleNamespace(region_code="430000"), SimpleNamespace(region_code="430100")
    other = SimpleNamespace(region_code="370000")
    assert ledger.pool_for([province, city, other], "430102") is city
    assert ledger.pool_for([province, other], "430102") is province
    assert ledger.pool_for([other], "430102") is None


# --- lines ----------------------------------------------------------------------------

INSTITUTION = uuid.uuid4()
VOUCHER = uuid.uuid4()


def _used(**overrides):
    return SimpleNamespace(**{"voucher_id": VOUCHER, "institution_id": INSTITUTION, "status": "used",
                              "region_code": "430102", "terms": CREDIT, "subsidy_ratio_percent": 100, **overrides})


def _judge(used="default", **overrides):
    kwargs = {"institution_id": INSTITUTION, "completed": True, "in_other_claim": False, **overrides}
    return judge_line("CODE", _used() if used == "default" else used, **kwargs)


def test_a_used_completed_unclaimed_voucher_of_this_institution_is_accepted_with_its_amount():
    assert _judge() == LineVerdict("CODE", True, None, 150_000, str(VOUCHER))


def test_a_face_value_line_is_accepted_with_the_face_value():
    assert _judge(_used(terms=FACE_VALUE)).amount_fen == 80_000


def test_institution_ids_match_whether_given_as_uuid_or_text():
    assert _judge(institution_id=str(INSTITUTION)).accepted
    assert _judge(_used(institution_id=str(INSTITUTION))).accepted


@pytest.mark.parametrize("used, overrides, reason", [
    (None, {}, "not_used"),
    (_used(status="reversed"), {}, "use_reversed"),
    (_used(institution_id=uuid.uuid4()), {}, "used_elsewhere"),
    (_used(status="settled"), {}, "already_settled"),
    (_used(), {"in_other_claim": True}, "already_claimed"),
    (_used(), {"completed": False}, "training_not_completed"),
    (_used(terms=CHECKIN_ONLY), {}, "not_payable"),
])
def test_each_refused_line_names_its_reason_and_pays_nothing(used, overrides, reason):
    verdict = _judge(used, **overrides)
    assert (verdict.accepted, verdict.reason, verdict.amount_fen) == (False, reason, 0)
    assert verdict.code == "CODE"


def test_a_voucher_used_elsewhere_is_refused_before_its_other_faults_show():
    verdict = _judge(_used(institution_id=uuid.uuid4(), status="settled"), completed=False, in_other_claim=True)
    assert verdict.reason == "used_elsewhere"


def test_a_use_undone_pays_nothing_whatever_else_holds_of_it():
    verdict = _judge(_used(status="reversed", institution_id=uuid.uuid4()), completed=False, in_other_claim=True)
    assert verdict == LineVerdict("CODE", False, "use_reversed")


def test_a_settled_voucher_is_already_settled_even_if_it_is_in_another_claim():
    assert _judge(_used(status="settled"), in_other_claim=True).reason == "already_settled"


# --- lines of a direct settlement: the voucher must lie inside the caller's region ----------

@pytest.mark.parametrize("within", ["000000", "430000", "430100", "430102"])
def test_a_voucher_inside_the_callers_region_is_judged_as_in_an_application(within):
    assert _judge(within=within) == _judge()


@pytest.mark.parametrize("within", ["370000", "430200", "430103"])
def test_a_voucher_outside_the_callers_region_is_refused_as_other_region(within):
    verdict = _judge(within=within)
    assert verdict == LineVerdict("CODE", False, "other_region")


def test_a_voucher_of_another_region_tells_nothing_of_its_other_faults():
    verdict = _judge(_used(institution_id=uuid.uuid4(), status="settled"), within="370000", completed=False)
    assert verdict.reason == "other_region"


def test_an_unknown_code_stays_not_used_whatever_the_region():
    assert _judge(None, within="370000").reason == "not_used"


def test_a_credit_line_pays_the_standard_times_the_holders_ratio():
    line = _judge(used=_used(subsidy_ratio_percent=60))
    assert line.accepted and line.amount_fen == CREDIT["subsidy_standard_fen"] * 60 // 100


def test_a_template_that_requires_a_certificate_pays_only_once_it_is_recorded():
    used = _used(terms={**CREDIT, "requires_certificate": True})
    assert (_judge(used=used).accepted, _judge(used=used).reason) == (False, "certificate_missing")
    assert _judge(used=used, certified=True).accepted


def test_a_line_carries_its_templates_funding_source():
    assert _judge(used=_used(terms={**CREDIT, "funding_source": "就业补助资金"})).funding_source == "就业补助资金"
