"""Subsidy applications (资金申请): the check of each line, and the review workflow."""
from dataclasses import dataclass

from common.errors import Conflict, RuleViolation
from settlement.domain.amounts import payable_fen

SUBMITTED, APPROVED, REJECTED, DISBURSED = "submitted", "approved", "rejected", "disbursed"
TRANSITIONS = {SUBMITTED: {APPROVED, REJECTED}, APPROVED: {DISBURSED}, REJECTED: set(), DISBURSED: set()}


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


def judge_line(code, used, *, institution_id, completed, in_other_claim):
    """``used``: the used-voucher record for ``code`` or None."""
    if used is None:
        return LineVerdict(code, False, "not_used")
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
