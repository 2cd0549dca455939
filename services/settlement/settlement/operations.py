"""Settlement's use cases: subsidy applications, review, disbursement and write-off."""
import datetime
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from common import codes, regions
from common.errors import Conflict, Forbidden, RuleViolation, not_found
from settlement import events
from settlement.domain import claims
from settlement.models import ClaimLine, Completion, SubsidyClaim, UsedVoucher


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def record_use(tx, event):
    p = event.payload
    tx.session.execute(pg_insert(UsedVoucher).on_conflict_do_nothing(), [{
        "voucher_id": p["voucher_id"], "code": p["code"], "institution_id": p["institution_id"],
        "class_id": p["class_id"], "person_key": p["person_key"], "region_code": p["template"]["region_code"],
        "terms": p["template"], "used_at": p["used_at"], "status": "used"}])


def record_completion(tx, event):
    tx.session.execute(pg_insert(Completion).on_conflict_do_nothing(), [{
        "class_id": event.payload["class_id"], "person_key": event.payload["person_key"]}])


def submit_claim(tx, *, institution_id, region_code, voucher_codes, submitted_by):
    """An institution applies for the subsidy of the vouchers it used; each line gets a
    verdict. An application with no payable line is refused whole and writes nothing."""
    normalised = [codes.normalise(c) or c for c in voucher_codes]
    used = {u.code: u for u in tx.session.scalars(select(UsedVoucher).where(UsedVoucher.code.in_(normalised)))}
    completed = set(tx.session.execute(select(Completion.class_id, Completion.person_key).where(
        Completion.person_key.in_([u.person_key for u in used.values()]))).tuples())
    claimed = set(tx.session.scalars(select(ClaimLine.voucher_id).where(
        ClaimLine.accepted, ClaimLine.voucher_id.in_([u.voucher_id for u in used.values()]))))
    verdicts, seen = [], set()
    for typed, code in zip(voucher_codes, normalised):
        record = used.get(code)
        verdict = claims.judge_line(
            code if record else typed, record, institution_id=institution_id,
            completed=record is not None and (record.class_id, record.person_key) in completed,
            in_other_claim=record is not None and (record.voucher_id in claimed or code in seen))
        seen.add(code)
        verdicts.append(verdict)
    accepted = [v for v in verdicts if v.accepted]
    if not accepted:
        raise RuleViolation("no_payable_lines", "No line of this application can be paid; see details.",
                            {"lines": [_line_view(v) for v in verdicts]})
    claim = SubsidyClaim(id=uuid.uuid4(), institution_id=uuid.UUID(str(institution_id)), region_code=region_code,
                         status=claims.SUBMITTED, total_fen=sum(v.amount_fen for v in accepted),
                         submitted_by=submitted_by, submitted_at=_now())
    tx.session.add(claim)
    tx.session.flush()
    tx.session.add_all([ClaimLine(claim_id=claim.id, code=v.code, voucher_id=v.voucher_id, accepted=v.accepted,
                                  reason=v.reason, amount_fen=v.amount_fen) for v in verdicts])
    try:
        tx.session.flush()
    except IntegrityError:  # a concurrent application took one of these vouchers first
        raise Conflict("already_claimed", "A voucher of this application is in another application; resubmit.")
    tx.emit(events.SUBSIDY_CLAIM_SUBMITTED, aggregate_id=claim.id, payload={
        "claim_id": str(claim.id), "institution_id": str(claim.institution_id), "region_code": region_code,
        "total_fen": claim.total_fen, "accepted": len(accepted), "refused": len(verdicts) - len(accepted)})
    return {**_claim_view(claim), "lines": [_line_view(v) for v in verdicts]}


def _line_view(line):
    return {"code": line.code, "accepted": line.accepted, "reason": line.reason, "amount_fen": line.amount_fen}


def _claim_view(claim):
    return {"claim_id": str(claim.id), "institution_id": str(claim.institution_id), "region_code": claim.region_code,
            "status": claim.status, "total_fen": claim.total_fen,
            "submitted_at": claim.submitted_at.isoformat() if claim.submitted_at else None,
            "approved_at": claim.approved_at.isoformat() if claim.approved_at else None,
            "disbursed_at": claim.disbursed_at.isoformat() if claim.disbursed_at else None}


def _claim(session, claim_id, region_code, *, for_update=False):
    try:
        claim = session.get(SubsidyClaim, uuid.UUID(str(claim_id)), with_for_update=for_update)
    except ValueError:
        claim = None
    if claim is None:
        raise not_found("subsidy_claim", claim_id)
    if not regions.contains(region_code, claim.region_code):
        raise Forbidden("other_region", "This application belongs to a region outside yours.")
    return claim


def approve_claim(tx, *, claim_id, reviewer, region_code):
    claim = _claim(tx.session, claim_id, region_code, for_update=True)
    claim.status = claims.advance(claim.status, claims.APPROVED)
    claim.approved_by, claim.approved_at = reviewer, _now()
    tx.emit(events.SUBSIDY_CLAIM_APPROVED, aggregate_id=claim.id, payload={
        "claim_id": str(claim.id), "region_code": claim.region_code, "total_fen": claim.total_fen})
    return _claim_view(claim)


def disburse_claim(tx, *, claim_id, region_code):
    """Pay an approved application, then write its vouchers off (核销) everywhere."""
    claim = _claim(tx.session, claim_id, region_code, for_update=True)
    claim.status = claims.advance(claim.status, claims.DISBURSED)
    claim.disbursed_at = _now()
    lines = tx.session.execute(select(ClaimLine, UsedVoucher).join(
        UsedVoucher, UsedVoucher.voucher_id == ClaimLine.voucher_id).where(
        ClaimLine.claim_id == claim.id, ClaimLine.accepted)).all()
    tx.session.execute(update(UsedVoucher).where(UsedVoucher.voucher_id.in_([u.voucher_id for _, u in lines]))
                       .values(status="settled"))
    tx.emit(events.VOUCHERS_SETTLED, aggregate_id=claim.id, payload={
        "claim_id": str(claim.id), "institution_id": str(claim.institution_id), "vouchers": [
            {"voucher_id": str(u.voucher_id), "code": u.code, "template_id": u.terms["template_id"],
             "region_code": u.region_code, "amount_fen": line.amount_fen} for line, u in lines]})
    return _claim_view(claim)


def get_claim(tx, *, claim_id, region_code):
    claim = _claim(tx.session, claim_id, region_code)
    lines = tx.session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id).order_by(ClaimLine.id))
    return {**_claim_view(claim), "lines": [_line_view(line) for line in lines]}


def region_summary(tx, *, region_code):
    used, settled, settled_fen = tx.session.execute(
        select(func.count(), func.count().filter(UsedVoucher.status == "settled"),
               select(func.coalesce(func.sum(ClaimLine.amount_fen), 0)).join(
                   SubsidyClaim, SubsidyClaim.id == ClaimLine.claim_id).where(
                   ClaimLine.accepted, SubsidyClaim.status == claims.DISBURSED,
                   SubsidyClaim.region_code.like(regions.like_pattern(region_code))).scalar_subquery())
        .where(UsedVoucher.region_code.like(regions.like_pattern(region_code)))).one()
    return {"used": used, "settled": settled, "settled_fen": settled_fen}
