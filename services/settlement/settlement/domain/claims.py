"""Subsidy applications (资金申请): the check of each line, and the review workflow.

An application by an institution starts submitted; a manager starts its review, and another
manager approves it (every line, or some: partly approved) or rejects it. Above the region's
dual-approval amount a second approver is needed, and nobody approves an application they
submitted or reviewed, or approves it twice. It is disbursed when the bank has paid every payment
instruction made at its approval. A direct settlement (培训券结算) reports vouchers a province
already paid through its own finance system: it is born disbursed and never moves, so no review
step is skipped by a transition.
"""
from dataclasses import dataclass

from common import regions
from common.errors import Conflict, Forbidden, RuleViolation
from settlement.domain.amounts import payable_fen

SUBMITTED, IN_REVIEW, APPROVED, PARTLY_APPROVED, REJECTED, DISBURSED = (
    "submitted", "in_review", "approved", "partly_approved", "rejected", "disbursed")
TRANSITIONS = {SUBMITTED: {IN_REVIEW, REJECTED}, IN_REVIEW: {APPROVED, PARTLY_APPROVED, REJECTED},
               APPROVED: {DISBURSED}, PARTLY_APPROVED: {DISBURSED}, REJECTED: set(), DISBURSED: set()}
APPLICATION, DIRECT = "application", "direct"
INITIAL = {APPLICATION: SUBMITTED, DIRECT: DISBURSED}
# Why a reviewer refuses a line: a code, so that no free text can carry a name.
LINE_REJECTIONS = ("attendance_doubtful", "assessment_failed", "documents_missing", "duplicate_trainee", "other")


def advance(current, target):
    if target not in TRANSITIONS.get(current, ()):
        raise Conflict("illegal_transition", f"An application that is {current} cannot become {target}.")
    return target


def check_reviewer(*, submitted_by, reviewer):
    if reviewer == submitted_by:
        raise Forbidden("own_application", "Nobody reviews an application they submitted.")


def check_approver(*, submitted_by, reviewer, first_approver, approver):
    """Four eyes, and six above the dual-approval amount."""
    if approver == submitted_by:
        raise Forbidden("own_application", "Nobody approves an application they submitted.")
    if approver == reviewer:
        raise Forbidden("reviewed_it", "The manager who reviewed an application cannot approve it: ask another.")
    if approver == first_approver:
        raise Forbidden("approved_it_already", "This application needs a second approver other than you.")


def needs_second_approval(approved_fen, dual_approval_fen, first_approver):
    return first_approver is None and dual_approval_fen is not None and approved_fen > dual_approval_fen


def outcome(approved_lines, rejected_lines):
    """The status an approval leaves: every line approved, some, or none."""
    if not approved_lines:
        return REJECTED
    return PARTLY_APPROVED if rejected_lines else APPROVED


@dataclass(frozen=True)
class LineVerdict:
    code: str
    accepted: bool
    reason: str | None = None
    amount_fen: int = 0
    voucher_id: str | None = None
    funding_source: str | None = None


def judge_line(code, used, *, institution_id, completed, in_other_claim, certified=False, within=None):
    """``used``: the used-voucher record for ``code`` or None. ``within``: the caller's
    region, when the voucher must lie inside it; a voucher outside is refused before any
    other fault shows, so the line tells nothing about it. ``certified``: a certificate (the
    assessment result) is recorded for the voucher, which a template may require."""
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
    if used.terms.get("requires_certificate") and not certified:
        return LineVerdict(code, False, "certificate_missing")
    try:
        amount = payable_fen(used.terms, ratio_percent=used.subsidy_ratio_percent)
    except RuleViolation as refusal:
        return LineVerdict(code, False, refusal.code)
    return LineVerdict(code, True, None, amount, str(used.voucher_id), used.terms.get("funding_source"))


@dataclass(frozen=True)
class Payable:
    """An approved line as a payment needs it."""
    funding_source: str
    payee: str  # the template's: institution | enterprise | individual
    institution_id: str
    person_key: str
    amount_fen: int


def instructions(payables):
    """What the bank is to pay for an approved application: per funding source, one transfer to
    the institution (or the enterprise, through the institution's account) for all its lines, and
    one to each trainee for templates that pay the individual (to the account linked to their
    social-security card). Returns (funding source, payee type, payee ref, amount) in a stable order."""
    totals = {}
    for line in payables:
        payee_type = "individual" if line.payee == "individual" else line.payee
        ref = line.person_key if payee_type == "individual" else line.institution_id
        key = (line.funding_source, payee_type, ref)
        totals[key] = totals.get(key, 0) + line.amount_fen
    return [(*key, amount) for key, amount in sorted(totals.items())]
