"""Subsidy applications (资金申请): the check of each line, and the review workflow.

An application by an institution starts submitted and is reviewed here. A direct
settlement (培训券结算) reports vouchers a province already paid through its own finance
system: it is born disbursed and never moves, so no review step is skipped by a transition.
"""
from dataclasses import dataclass

from common import regions
from common.errors import Conflict, RuleViolation
from settlement.domain.amounts import payable_fen

SUBMITTED, APPROVED, REJECTED, DISBURSED = "submitted", "approved", "rejected", "disbursed"
TRANSITIONS = {SUBMITTED: {APPROVED, REJECTED}, APPROVED: {DISBURSED}, REJECTED: set(), DISBURSED: set()}
APPLICATION, DIRECT = "application", "direct"
INITIAL = {APPLICATION: SUBMITTED, DIRECT: DISBURSED}


def advance(current, target):
    if target not in TRANSITIONS.get(current, ()):
        raise Conflict("illegal_transition", f"An application that is {current} cannot become {target}.")
    return target


@dataclass(frozen=True)
class LineVerdict:
    code: str
    accepted: bool
    reason: str | None = None
    amount_fen: int = 0
    voucher_id: str | None = None


def judge_line(code, used, *, institution_id, completed, in_other_claim, within=None):
    """``used``: the used-voucher record for ``code`` or None; one whose use was undone
    (``reversed``) pays nothing, as one never used. ``within``: the caller's region, when the
    voucher must lie inside it; a voucher outside is refused before any other fault shows, so
    the line tells nothing about it."""
    if used is None:
        return LineVerdict(code, False, "not_used")
    if within is not None and not regions.contains(within, used.region_code):
        return LineVerdict(code, False, "other_region")
    if used.status == "reversed":
        return LineVerdict(code, False, "use_reversed")
    if str(used.institution_id) != str(institution_id):
        return LineVerdict(code, False, "used_elsewhere")
    if used.status == "settled":
        return LineVerdict(code, False, "already_settled")
    if in_other_claim:
        return LineVerdict(code, False, "already_claimed")
    if not completed:
        return LineVerdict(code, False, "training_not_completed")
    try:
        amount = payable_fen(used.terms)
    except RuleViolation as refusal:
        return LineVerdict(code, False, refusal.code)
    return LineVerdict(code, True, None, amount, str(used.voucher_id))
