"""Redemption's use cases: the one-time use of a claimed voucher, decided atomically."""
import datetime
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import codes, regions
from common.errors import InvalidInput, NotFound, not_found
from redemption import events
from redemption.domain.use import check_use, refuse_by_status
from redemption.models import TrainingClass, VoucherRight


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


def region_summary(tx, *, region_code):
    claimed, used, settled = tx.session.execute(
        select(func.count(), func.count().filter(VoucherRight.status.in_(("used", "settled"))),
               func.count().filter(VoucherRight.status == "settled"))
        .where(VoucherRight.region_code.like(regions.like_pattern(region_code)))).one()
    return {"claimed": claimed, "used": used, "settled": settled}
