"""Settlement's use cases: subsidy applications, review, disbursement and write-off, direct
settlements reported by provinces, and trainees' certificates."""
import datetime
import json
import uuid

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from common import codes, regions
from common.errors import Conflict, Forbidden, InvalidInput, RuleViolation, not_found
from settlement import events
from settlement.domain import certificates, claims
from settlement.models import Certificate, ClaimLine, Completion, SubsidyClaim, UsedVoucher


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


# What a row takes from the use or reversal it records.
_RECORDED = ("code", "institution_id", "class_id", "person_key", "region_code", "terms", "used_at", "status", "use_seq")
_OVERWRITE = ", ".join(f"{name} = excluded.{name}" for name in _RECORDED)
# Each voucher's newest use in the batch, over an older use or reversal only, never over a settlement.
_USES = text(f"""
    INSERT INTO used_vouchers (voucher_id, {", ".join(_RECORDED)})
    SELECT DISTINCT ON (voucher_id) voucher_id, code, institution_id, class_id, person_key, terms->>'region_code',
           terms, used_at, 'used', use_seq
    FROM unnest(CAST(:voucher_ids AS uuid[]), CAST(:codes AS text[]), CAST(:institution_ids AS uuid[]),
                CAST(:class_ids AS uuid[]), CAST(:person_keys AS text[]), CAST(:terms AS jsonb[]),
                CAST(:used_at AS timestamptz[]), CAST(:use_seq AS int[]))
         AS used (voucher_id, code, institution_id, class_id, person_key, terms, used_at, use_seq)
    ORDER BY voucher_id, use_seq DESC
    ON CONFLICT (voucher_id) DO UPDATE SET {_OVERWRITE}
    WHERE used_vouchers.use_seq < excluded.use_seq AND used_vouchers.status <> 'settled'""")
# A reversal over its own use or an older one, never over a settlement; arriving before its use,
# it leaves a row that the late use cannot pass.
_USE_REVERSAL = text(f"""
    INSERT INTO used_vouchers (voucher_id, {", ".join(_RECORDED)})
    VALUES (:voucher_id, :code, :institution_id, :class_id, :person_key, :region_code, CAST(:terms AS jsonb),
            :used_at, 'reversed', :use_seq)
    ON CONFLICT (voucher_id) DO UPDATE SET {_OVERWRITE}
    WHERE used_vouchers.use_seq <= excluded.use_seq AND used_vouchers.status <> 'settled'""")


def record_uses(tx, event):
    """Redemption reports uses: each voucher's row follows its newest, whatever the order in
    which uses and reversals arrive."""
    uses = event.payload["vouchers"]
    if uses:
        tx.session.execute(_USES, {
            "voucher_ids": [str(u["voucher_id"]) for u in uses], "codes": [u["code"] for u in uses],
            "institution_ids": [str(u["institution_id"]) for u in uses],
            "class_ids": [str(u["class_id"]) for u in uses], "person_keys": [u["person_key"] for u in uses],
            "terms": [json.dumps(u["template"], default=str) for u in uses], "used_at": [u["used_at"] for u in uses],
            "use_seq": [u["use_seq"] for u in uses]})


def record_use_reversal(tx, event):
    """Redemption undid a use (撤销): that use pays nothing, unless it was settled already."""
    p = event.payload
    tx.session.execute(_USE_REVERSAL, {
        "voucher_id": str(p["voucher_id"]), "code": p["code"], "institution_id": str(p["institution_id"]),
        "class_id": str(p["class_id"]), "person_key": p["person_key"], "region_code": p["template"]["region_code"],
        "terms": json.dumps(p["template"], default=str), "used_at": p["used_at"], "use_seq": p["use_seq"]})


def record_completions(tx, event):
    tx.session.execute(pg_insert(Completion).on_conflict_do_nothing(), [
        {"class_id": c["class_id"], "person_key": c["person_key"]} for c in event.payload["completions"]])


def _check_region(region_code):
    """The caller's region decides what it may touch: an empty or malformed one would reach everything."""
    if not regions.is_valid(region_code):
        raise InvalidInput("invalid_region", "region_code must be a 6-digit administrative division code.")


def _judge_lines(session, voucher_codes, *, institution_id, within=None):
    """Each typed code's verdict, in order. A code given twice is paid once."""
    normalised = [codes.normalise(c) or c for c in voucher_codes]
    used = {u.code: u for u in session.scalars(select(UsedVoucher).where(UsedVoucher.code.in_(normalised)))}
    completed = set(session.execute(select(Completion.class_id, Completion.person_key).where(
        Completion.person_key.in_([u.person_key for u in used.values()]))).tuples())
    claimed = set(session.scalars(select(ClaimLine.voucher_id).where(
        ClaimLine.accepted, ClaimLine.voucher_id.in_([u.voucher_id for u in used.values()]))))
    verdicts, seen = [], set()
    for typed, code in zip(voucher_codes, normalised):
        record = used.get(code)
        verdict = claims.judge_line(
            code if record else typed, record, institution_id=institution_id, within=within,
            completed=record is not None and (record.class_id, record.person_key) in completed,
            in_other_claim=record is not None and (record.voucher_id in claimed or code in seen))
        seen.add(code)
        verdicts.append(verdict)
    return verdicts


def _record_claim(tx, verdicts, *, kind, institution_id, region_code, submitted_by, payment_reference=None):
    """Write a claim and its lines. A claim with no payable line is refused whole and writes
    nothing."""
    accepted = [v for v in verdicts if v.accepted]
    if not accepted:
        raise RuleViolation("no_payable_lines", "No line of this request can be paid; see details.",
                            {"lines": [_line_view(v) for v in verdicts]})
    now = _now()
    claim = SubsidyClaim(id=uuid.uuid4(), kind=kind, institution_id=uuid.UUID(str(institution_id)),
                         region_code=region_code, status=claims.INITIAL[kind],
                         total_fen=sum(v.amount_fen for v in accepted), submitted_by=submitted_by, submitted_at=now,
                         disbursed_at=now if claims.INITIAL[kind] == claims.DISBURSED else None,
                         payment_reference=payment_reference)
    tx.session.add(claim)
    tx.session.flush()
    tx.session.add_all([ClaimLine(claim_id=claim.id, code=v.code, voucher_id=v.voucher_id, accepted=v.accepted,
                                  reason=v.reason, amount_fen=v.amount_fen) for v in verdicts])
    try:
        tx.session.flush()
    except IntegrityError:  # a concurrent request took one of these vouchers first
        raise Conflict("already_claimed", "A voucher here was taken by another application meanwhile; resubmit.")
    return claim


def submit_claim(tx, *, institution_id, region_code, voucher_codes, submitted_by):
    """An institution applies for the subsidy of the vouchers it used; each line gets a
    verdict. An application with no payable line is refused whole and writes nothing."""
    verdicts = _judge_lines(tx.session, voucher_codes, institution_id=institution_id)
    claim = _record_claim(tx, verdicts, kind=claims.APPLICATION, institution_id=institution_id,
                          region_code=region_code, submitted_by=submitted_by)
    accepted = sum(v.accepted for v in verdicts)
    tx.emit(events.SUBSIDY_CLAIM_SUBMITTED, aggregate_id=claim.id, payload={
        "claim_id": str(claim.id), "institution_id": str(claim.institution_id), "region_code": region_code,
        "total_fen": claim.total_fen, "accepted": accepted, "refused": len(verdicts) - accepted})
    return {**_claim_view(claim), "lines": [_line_view(v) for v in verdicts]}


def settle_vouchers(tx, *, region_code, institution_id, voucher_codes, payment_reference, settled_by):
    """A province that paid the subsidy through its own finance system reports the vouchers
    settled (培训券结算). Each line is judged as in an application and must lie inside the
    caller's region; the accepted ones are written off at once."""
    _check_region(region_code)
    verdicts = _judge_lines(tx.session, voucher_codes, institution_id=institution_id, within=region_code)
    claim = _record_claim(tx, verdicts, kind=claims.DIRECT, institution_id=institution_id,
                          region_code=region_code, submitted_by=settled_by, payment_reference=payment_reference)
    _write_off(tx, claim)
    accepted = sum(v.accepted for v in verdicts)
    return {"settlement_id": str(claim.id), "institution_id": str(claim.institution_id),
            "payment_reference": claim.payment_reference, "total_fen": claim.total_fen, "accepted": accepted,
            "refused": len(verdicts) - accepted, "lines": [_line_view(v) for v in verdicts]}


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
    _write_off(tx, claim)
    return _claim_view(claim)


def _write_off(tx, claim):
    """A paid claim's accepted vouchers are settled (核销): void here, and everywhere once
    the event arrives."""
    lines = tx.session.execute(select(ClaimLine, UsedVoucher).join(
        UsedVoucher, UsedVoucher.voucher_id == ClaimLine.voucher_id).where(
        ClaimLine.claim_id == claim.id, ClaimLine.accepted)).all()
    tx.session.execute(update(UsedVoucher).where(UsedVoucher.voucher_id.in_([u.voucher_id for _, u in lines]))
                       .values(status="settled"))
    tx.emit(events.VOUCHERS_SETTLED, aggregate_id=claim.id, payload={
        "claim_id": str(claim.id), "institution_id": str(claim.institution_id), "vouchers": [
            {"voucher_id": str(u.voucher_id), "code": u.code, "template_id": u.terms["template_id"],
             "region_code": u.region_code, "amount_fen": line.amount_fen} for line, u in lines]})


def get_claim(tx, *, claim_id, region_code):
    claim = _claim(tx.session, claim_id, region_code)
    lines = tx.session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id).order_by(ClaimLine.id))
    return {**_claim_view(claim), "lines": [_line_view(line) for line in lines]}


def region_summary(tx, *, region_code):
    """Settlement's own counts for a region: a use undone counts no more."""
    used, settled, settled_fen = tx.session.execute(
        select(func.count().filter(UsedVoucher.status != "reversed"),
               func.count().filter(UsedVoucher.status == "settled"),
               select(func.coalesce(func.sum(ClaimLine.amount_fen), 0)).join(
                   SubsidyClaim, SubsidyClaim.id == ClaimLine.claim_id).where(
                   ClaimLine.accepted, SubsidyClaim.status == claims.DISBURSED,
                   SubsidyClaim.region_code.like(regions.like_pattern(region_code))).scalar_subquery())
        .where(UsedVoucher.region_code.like(regions.like_pattern(region_code)))).one()
    return {"used": used, "settled": settled, "settled_fen": settled_fen}


def add_certificate(tx, *, voucher_code, person_key, institution_id, region_code, certificate):
    """Record the certificate a trainee obtained after voucher-funded training (添加证书). The
    same certificate reported again for the same voucher is answered with its first record."""
    _check_region(region_code)
    given = certificates.parse(certificate)
    code = codes.normalise(voucher_code)
    used = code and tx.session.scalar(select(UsedVoucher).where(UsedVoucher.code == code))
    if not used:
        raise not_found("voucher", voucher_code)
    certificates.check_recorder(used, person_key=person_key, institution_id=institution_id, region_code=region_code)
    certificates.check_issued_on(given["issued_on"], used_at=used.used_at)
    record = tx.session.scalars(pg_insert(Certificate).values(
        id=uuid.uuid4(), voucher_id=used.voucher_id, code=used.code, person_key=used.person_key,
        institution_id=used.institution_id, class_id=used.class_id, region_code=used.region_code,
        recorded_at=_now(), **given).on_conflict_do_nothing(constraint="certificates_kind_number")
        .returning(Certificate)).first()
    if record is None:  # recorded before, perhaps by a concurrent request that has committed since
        existing = tx.session.scalar(select(Certificate).where(
            Certificate.kind == given["kind"], Certificate.number == given["number"]))
        return _certificate_view(certificates.check_existing(existing, voucher_id=used.voucher_id))
    tx.emit(events.CERTIFICATE_ADDED, aggregate_id=record.id, payload={
        "certificate_id": str(record.id), "voucher_id": str(record.voucher_id), "code": record.code,
        "institution_id": str(record.institution_id), "class_id": str(record.class_id),
        "region_code": record.region_code, "kind": record.kind, "occupation": record.occupation,
        "skill_level": record.skill_level, "issued_on": record.issued_on.isoformat()})
    return _certificate_view(record)


def _certificate_view(record):
    return {"certificate_id": str(record.id), "voucher_code": record.code, "kind": record.kind,
            "number": record.number, "occupation": record.occupation, "skill_level": record.skill_level,
            "issued_on": record.issued_on.isoformat(), "issuer": record.issuer,
            "recorded_at": record.recorded_at.isoformat()}
