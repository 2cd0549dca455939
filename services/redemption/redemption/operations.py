"""Redemption's use cases: the one-time use of a claimed voucher, decided atomically."""
import datetime
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import codes, regions
from common.errors import Forbidden, InvalidInput, NotFound, not_found
from redemption import events
from redemption.domain.use import check_use, refuse_by_status
from redemption.models import TrainingClass, VoucherRight

VOID_CHUNK = 1000  # vouchers per vouchers_voided event


def record_claims(tx, event):
    """Claimed vouchers become usable rights; a redelivered chunk changes nothing."""
    terms = event.payload["template"]
    rows = [{"voucher_id": v["voucher_id"], "code": v["code"], "holder": v["person_key"],
             "region_code": terms["region_code"], "terms": terms, "status": "claimed",
             "claimed_at": v["claimed_at"]} for v in event.payload["vouchers"]]
    tx.session.execute(pg_insert(VoucherRight).on_conflict_do_nothing(), rows)


def record_class(tx, event):
    p = event.payload
    tx.session.execute(pg_insert(TrainingClass).on_conflict_do_nothing(), [{
        "class_id": p["class_id"], "institution_id": p["institution_id"], "region_code": p["region_code"],
        "occupation": p["occupation"], "skill_level": p["skill_level"], "mode": p["mode"]}])


def record_settlement(tx, event):
    """Written off (核销): the code is void for good."""
    voucher_ids = [v["voucher_id"] for v in event.payload["vouchers"]]
    tx.session.execute(update(VoucherRight).where(VoucherRight.voucher_id.in_(voucher_ids))
                       .values(status="settled"))


def _right(session, code):
    normalised = codes.normalise(code)
    if normalised is None:
        raise InvalidInput("invalid_code", "This is not a voucher code: check it for a typo.")
    right = session.scalar(select(VoucherRight).where(VoucherRight.code == normalised))
    if right is None:
        raise NotFound("voucher_not_claimed", "No claimed voucher has this code.")
    return right


def verify(tx, *, code):
    """验真: authenticity and state, without using the voucher."""
    right = _right(tx.session, code)
    refusal = refuse_by_status(right.status)
    return {"voucher_id": str(right.voucher_id), "code": right.code, "status": right.status,
            "usable": refusal is None, "reason": refusal.code if refusal else None,
            "region_code": right.region_code, "template_id": right.terms["template_id"]}


def redeem(tx, *, code, class_id, institution_id, today=None):
    """The institution scans a voucher for a class: used once, or refused with a reason."""
    right = _right(tx.session, code)
    refusal = refuse_by_status(right.status)
    if refusal:
        raise refusal
    try:
        training_class = tx.session.get(TrainingClass, uuid.UUID(str(class_id)))
    except ValueError:
        training_class = None
    if training_class is None:
        raise not_found("class", class_id)
    check_use(right.terms, institution_id=uuid.UUID(str(institution_id)), training_class=training_class,
              day=today or datetime.date.today())
    used_at = datetime.datetime.now(datetime.timezone.utc)
    # The database decides between concurrent scans: only one finds the voucher still claimed.
    won = tx.session.execute(update(VoucherRight).where(VoucherRight.voucher_id == right.voucher_id,
                                                        VoucherRight.status == "claimed")
                             .values(status="used", used_at=used_at, used_by_institution=training_class.institution_id,
                                     used_in_class=training_class.class_id)
                             .returning(VoucherRight.voucher_id)).first()
    if won is None:
        raise refuse_by_status("used")
    payload = {"voucher_id": str(right.voucher_id), "code": right.code, "person_key": right.holder,
               "institution_id": str(training_class.institution_id), "class_id": str(training_class.class_id),
               "used_at": used_at.isoformat(), "template": right.terms}
    tx.emit(events.VOUCHER_USED, aggregate_id=right.voucher_id, payload=payload)
    return {"voucher_id": str(right.voucher_id), "code": right.code, "status": "used",
            "used_at": used_at.isoformat(), "class_id": str(training_class.class_id)}


def void_vouchers(tx, *, voucher_codes, region_code, reason):
    """Batch void of claimed vouchers (批量作废已领培训券): each code voided, or refused with
    its reason. One conditional update decides against concurrent scans, so a voucher in
    use is never voided and a voided voucher is never used."""
    normalised = [codes.normalise(code) for code in voucher_codes]
    rights = {r.code: r for r in tx.session.scalars(select(VoucherRight).where(
        VoucherRight.code.in_([code for code in normalised if code])))}
    ours = [r.voucher_id for r in rights.values() if regions.contains(region_code, r.region_code)]
    voided_at = datetime.datetime.now(datetime.timezone.utc)
    voided = set(tx.session.scalars(
        update(VoucherRight).where(VoucherRight.voucher_id.in_(ours), VoucherRight.status == "claimed")
        .values(status="void", voided_at=voided_at, void_reason=reason).returning(VoucherRight.voucher_id),
        execution_options={"synchronize_session": False}))
    status = {code: state for code, state in tx.session.execute(
        select(VoucherRight.code, VoucherRight.status).where(VoucherRight.code.in_(list(rights))))}
    rows, done = [], set()
    for index, (typed, code) in enumerate(zip(voucher_codes, normalised)):
        right = rights.get(code)
        if code is None:
            refusal = InvalidInput("invalid_code", "This is not a voucher code: check it for a typo.")
        elif right is None:
            refusal = NotFound("voucher_not_claimed", "No claimed voucher has this code.")
        elif right.voucher_id not in ours:
            refusal = Forbidden("other_region", "This voucher belongs to a region outside yours.")
        elif right.voucher_id in voided and code not in done:
            refusal = None
        else:
            refusal = refuse_by_status(status[code])
        done.add(code)
        rows.append({"row": index, "code": code or typed, "status": "voided"} if refusal is None else
                    {"row": index, "code": code or typed, "status": "refused", **refusal.as_dict()})
    changed = [r for r in rights.values() if r.voucher_id in voided]
    batch_id = uuid.uuid4()
    for start in range(0, len(changed), VOID_CHUNK):
        tx.emit(events.VOUCHERS_VOIDED, aggregate_id=batch_id, payload={"reason": reason, "vouchers": [
            {"voucher_id": str(r.voucher_id), "code": r.code, "voided_at": voided_at.isoformat(),
             "template": r.terms} for r in changed[start:start + VOID_CHUNK]]})
    return {"voided": len(voided), "refused": len(rows) - len(voided), "rows": rows}


def region_summary(tx, *, region_code):
    claimed, used, settled = tx.session.execute(
        select(func.count(), func.count().filter(VoucherRight.status.in_(("used", "settled"))),
               func.count().filter(VoucherRight.status == "settled"))
        .where(VoucherRight.region_code.like(regions.like_pattern(region_code)))).one()
    return {"claimed": claimed, "used": used, "settled": settled}
