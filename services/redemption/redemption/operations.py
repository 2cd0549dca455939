"""Redemption's use cases: the one-time use of a claimed voucher, its return and its expiry,
each decided atomically by one conditional update."""
import datetime
import json
import uuid

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import codes, regions
from common.errors import Forbidden, InvalidInput, NotFound, RuleViolation, not_found
from redemption import events
from redemption.domain.use import check_once_a_year, check_use, china_day, expired_on, refuse_by_status
from redemption.domain.use import today as china_today
from redemption.models import InstitutionProjects, TemplateTerms, TrainingClass, VoucherRight

VOID_CHUNK = 1000  # vouchers per vouchers_voided event
EXPIRY_BATCH = 1000  # rights expired per transaction, and per vouchers_expired event
HOLDER_LOCK = 1  # advisory lock namespace: one use at a time per holder


_TERMS = text("""
    INSERT INTO template_terms (template_id, version, terms) VALUES (:template_id, :version, CAST(:terms AS jsonb))
    ON CONFLICT DO NOTHING""")
# One statement for a whole chunk, compiled once: a targeted issuance sends a million rows.
_RIGHTS = text("""
    INSERT INTO voucher_rights (voucher_id, code, holder, region_code, template_id, template_version, status,
                                claimed_at, valid_until)
    SELECT claim.voucher_id, claim.code, claim.holder, :region_code, :template_id, :version, 'claimed',
           claim.claimed_at, coalesce(claim.valid_until, :template_valid_until)
    FROM unnest(CAST(:voucher_ids AS uuid[]), CAST(:codes AS text[]), CAST(:holders AS text[]),
                CAST(:claimed_at AS timestamptz[]), CAST(:valid_until AS date[]))
         AS claim (voucher_id, code, holder, claimed_at, valid_until)
    ON CONFLICT (voucher_id) DO UPDATE SET
        code = excluded.code, holder = excluded.holder, template_id = excluded.template_id,
        template_version = excluded.template_version, status = excluded.status,
        claimed_at = excluded.claimed_at, valid_until = excluded.valid_until
    WHERE voucher_rights.status = 'returned'""")


def record_claims(tx, event):
    """Claimed vouchers become usable rights; a redelivered chunk changes nothing. A returned
    voucher claimed again from the pool (换券) becomes its new holder's right. A voucher without
    a last day of its own ends with its template."""
    terms, vouchers = event.payload["template"], event.payload["vouchers"]
    version = {"template_id": terms["template_id"], "version": terms["version"]}
    tx.session.execute(_TERMS, {**version, "terms": json.dumps(terms, default=str)})
    tx.session.execute(_RIGHTS, {
        **version, "region_code": terms["region_code"], "template_valid_until": terms["valid_until"],
        "voucher_ids": [str(v["voucher_id"]) for v in vouchers], "codes": [v["code"] for v in vouchers],
        "holders": [v["person_key"] for v in vouchers], "claimed_at": [v["claimed_at"] for v in vouchers],
        "valid_until": [v["valid_until"] for v in vouchers]})


def record_class(tx, event):
    p = event.payload
    tx.session.execute(pg_insert(TrainingClass).on_conflict_do_nothing(), [{
        "class_id": p["class_id"], "institution_id": p["institution_id"], "region_code": p["region_code"],
        "occupation": p["occupation"], "skill_level": p["skill_level"], "mode": p["mode"]}])


def record_institution_projects(tx, event):
    """The training projects an institution may train for (institution_registered, then each
    institution_projects_changed). The two event types travel through different queues, so an
    event replaces the list only when its per-institution sequence is newer."""
    p = event.payload
    projects = [{"project_id": str(project["project_id"]), "occupation": project["occupation"],
                 "skill_level": project["skill_level"]} for project in p["projects"]]
    statement = pg_insert(InstitutionProjects).values(institution_id=p["institution_id"], projects=projects,
                                                      sequence=event.sequence)
    tx.session.execute(statement.on_conflict_do_update(
        index_elements=["institution_id"], where=InstitutionProjects.sequence < statement.excluded.sequence,
        set_={"projects": statement.excluded.projects, "sequence": statement.excluded.sequence}))


def _allowed_projects(session, institution_id):
    """(occupation, skill level) of the projects the institution may train for; none: not limited."""
    projects = session.scalar(select(InstitutionProjects.projects).where(
        InstitutionProjects.institution_id == institution_id))
    return [(project["occupation"], project["skill_level"]) for project in projects or ()]


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


def _refusal_now(session, right):
    """Why a conditional update found the right no longer claimed: a concurrent scan, void,
    return or expiry changed it first."""
    return refuse_by_status(session.scalar(select(VoucherRight.status).where(
        VoucherRight.voucher_id == right.voucher_id)))


def _earlier_uses(session, right):
    """(occupation, used_at) of the holder's other used vouchers, read under a lock on the holder
    so that two scans of one person's vouchers at once cannot both pass the once-a-year rule."""
    session.execute(select(func.pg_advisory_xact_lock(HOLDER_LOCK, func.hashtext(right.holder))))
    return session.execute(select(TemplateTerms.terms["occupation"].astext, VoucherRight.used_at)
                           .join(VoucherRight.template).where(
        VoucherRight.holder == right.holder, VoucherRight.voucher_id != right.voucher_id,
        VoucherRight.status.in_(("used", "settled")))).all()


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
    used_at = datetime.datetime.now(datetime.timezone.utc)
    day = today or china_day(used_at)
    check_use(right.terms, valid_until=right.valid_until, institution_id=uuid.UUID(str(institution_id)),
              training_class=training_class, day=day,
              allowed_projects=_allowed_projects(tx.session, training_class.institution_id))
    check_once_a_year(right.terms, day=day, earlier_uses=_earlier_uses(tx.session, right))
    # The database decides between concurrent scans: only one finds the voucher still claimed.
    won = tx.session.execute(update(VoucherRight).where(VoucherRight.voucher_id == right.voucher_id,
                                                        VoucherRight.status == "claimed")
                             .values(status="used", used_at=used_at, used_by_institution=training_class.institution_id,
                                     used_in_class=training_class.class_id)
                             .returning(VoucherRight.voucher_id)).first()
    if won is None:
        raise _refusal_now(tx.session, right) or refuse_by_status("used")
    payload = {"voucher_id": str(right.voucher_id), "code": right.code, "person_key": right.holder,
               "institution_id": str(training_class.institution_id), "class_id": str(training_class.class_id),
               "used_at": used_at.isoformat(), "template": right.terms}
    tx.emit(events.VOUCHER_USED, aggregate_id=right.voucher_id, payload=payload)
    return {"voucher_id": str(right.voucher_id), "code": right.code, "status": "used",
            "used_at": used_at.isoformat(), "class_id": str(training_class.class_id)}


def _not_the_holder():
    return RuleViolation("not_the_holder",
                         "Only the voucher's holder can return it: check the ID number and the code.")


def return_voucher(tx, *, code, person_key):
    """退券 (pilot plan §二(一)1): the holder gives back a claimed voucher they cannot use. It goes
    back to its template's pool for someone else, and the holder may claim another (换券)."""
    right = _right(tx.session, code)
    if right.holder != person_key:
        raise _not_the_holder()
    refusal = refuse_by_status(right.status)
    if refusal is None and right.valid_until < china_today():
        refusal = refuse_by_status("expired")  # past its last day; the sweep has not come by yet
    if refusal:
        raise refusal
    returned_at = datetime.datetime.now(datetime.timezone.utc)
    # As for a use: only one of a return and a concurrent scan, void or expiry finds it still claimed.
    won = tx.session.execute(update(VoucherRight).where(VoucherRight.voucher_id == right.voucher_id,
                                                        VoucherRight.holder == person_key,
                                                        VoucherRight.status == "claimed")
                             .values(status="returned").returning(VoucherRight.voucher_id)).first()
    if won is None:
        raise _refusal_now(tx.session, right) or _not_the_holder()
    tx.emit(events.VOUCHER_RETURNED, aggregate_id=right.voucher_id, payload={
        "voucher_id": str(right.voucher_id), "code": right.code, "returned_at": returned_at.isoformat(),
        "template": right.terms})
    return {"voucher_id": str(right.voucher_id), "code": right.code, "status": "returned",
            "returned_at": returned_at.isoformat()}


def expire_rights(tx, *, today):
    """到期后未使用自动失效 (Wuxi §四(二)): up to EXPIRY_BATCH claimed rights past their last day
    expire in one set-based update; returns how many. A scan at the same moment is decided by the
    same condition (still claimed): exactly one of them wins. Rows a scan holds are left to the
    next batch rather than waited for."""
    # Materialized, so the batch is chosen once: a LIMIT rescanned inside the update would go past it.
    due = (select(VoucherRight.voucher_id).where(VoucherRight.status == "claimed", VoucherRight.valid_until < today)
           .limit(EXPIRY_BATCH).with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED"))
    expired = tx.session.execute(
        update(VoucherRight).where(VoucherRight.voucher_id.in_(select(due.c.voucher_id)),
                                   VoucherRight.status == "claimed")
        .values(status="expired")
        .returning(VoucherRight.voucher_id, VoucherRight.code, VoucherRight.valid_until, VoucherRight.template_id,
                   VoucherRight.template_version),
        execution_options={"synchronize_session": False}).all()
    if expired:
        terms = _terms_of(tx.session, {(r.template_id, r.template_version) for r in expired})
        tx.emit(events.VOUCHERS_EXPIRED, aggregate_id=uuid.uuid4(), payload={"vouchers": [
            {"voucher_id": str(r.voucher_id), "code": r.code, "expired_on": expired_on(r.valid_until).isoformat(),
             "template": terms[r.template_id, r.template_version]} for r in expired]})
    return len(expired)


def _terms_of(session, versions):
    """{(template id, version): terms} of the versions named."""
    return {(row.template_id, row.version): row.terms for row in session.execute(
        select(TemplateTerms.template_id, TemplateTerms.version, TemplateTerms.terms).where(
            tuple_(TemplateTerms.template_id, TemplateTerms.version).in_(list(versions))))}


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
        select(func.count().filter(VoucherRight.status != "returned"),
               func.count().filter(VoucherRight.status.in_(("used", "settled"))),
               func.count().filter(VoucherRight.status == "settled"))
        .where(VoucherRight.region_code.like(regions.like_pattern(region_code)))).one()
    return {"claimed": claimed, "used": used, "settled": settled}
