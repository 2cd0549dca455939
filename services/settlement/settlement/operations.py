"""Settlement's use cases: subsidy applications and their review, funding pools on a double-entry
ledger, payment files and the bank's answers, write-off, direct settlements reported by provinces,
trainees' certificates, reconciliation."""
import datetime
import json
import uuid

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError

from common import codes, regions
from common.db import insert_rows
from common.errors import Conflict, Forbidden, InvalidInput, RuleViolation, not_found
from settlement import events
from settlement.domain import certificates, claims, ledger
from settlement.models import (LIVE_LINE, Certificate, ClaimAudit, ClaimLine, Completion, FundingPool, LedgerEntry,
                               PaymentFile, PaymentInstruction, SubsidyClaim, UsedVoucher)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


# What a row takes from the use or reversal it records.
_RECORDED = ("code", "institution_id", "class_id", "person_key", "region_code", "terms", "used_at", "status", "use_seq",
             "subsidy_ratio_percent")
_OVERWRITE = ", ".join(f"{name} = excluded.{name}" for name in _RECORDED)
# Each voucher's newest use in the batch, over an older use or reversal only, never over a settlement.
_USES = text(f"""
    INSERT INTO used_vouchers (voucher_id, {", ".join(_RECORDED)})
    SELECT DISTINCT ON (voucher_id) voucher_id, code, institution_id, class_id, person_key, terms->>'region_code',
           terms, used_at, 'used', use_seq, ratio
    FROM unnest(CAST(:voucher_ids AS uuid[]), CAST(:codes AS text[]), CAST(:institution_ids AS uuid[]),
                CAST(:class_ids AS uuid[]), CAST(:person_keys AS text[]), CAST(:terms AS jsonb[]),
                CAST(:used_at AS timestamptz[]), CAST(:use_seq AS int[]), CAST(:ratios AS int[]))
         AS used (voucher_id, code, institution_id, class_id, person_key, terms, used_at, use_seq, ratio)
    ORDER BY voucher_id, use_seq DESC
    ON CONFLICT (voucher_id) DO UPDATE SET {_OVERWRITE}
    WHERE used_vouchers.use_seq < excluded.use_seq AND used_vouchers.status <> 'settled'""")
# A reversal over its own use or an older one, never over a settlement; arriving before its use,
# it leaves a row that the late use cannot pass.
_USE_REVERSAL = text(f"""
    INSERT INTO used_vouchers (voucher_id, {", ".join(_RECORDED)})
    VALUES (:voucher_id, :code, :institution_id, :class_id, :person_key, :region_code, CAST(:terms AS jsonb),
            :used_at, 'reversed', :use_seq, :ratio)
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
            "use_seq": [u["use_seq"] for u in uses], "ratios": [u["subsidy_ratio_percent"] for u in uses]})


def record_use_reversal(tx, event):
    """Redemption undid a use (撤销): that use pays nothing, unless it was settled already."""
    p = event.payload
    tx.session.execute(_USE_REVERSAL, {
        "voucher_id": str(p["voucher_id"]), "code": p["code"], "institution_id": str(p["institution_id"]),
        "class_id": str(p["class_id"]), "person_key": p["person_key"], "region_code": p["template"]["region_code"],
        "terms": json.dumps(p["template"], default=str), "used_at": p["used_at"], "use_seq": p["use_seq"],
        "ratio": p["subsidy_ratio_percent"]})


def record_completions(tx, event):
    insert_rows(tx.session, Completion.__table__, ("class_id", "person_key"),
                [(c["class_id"], c["person_key"]) for c in event.payload["completions"]], "ON CONFLICT DO NOTHING")


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
    voucher_ids = [u.voucher_id for u in used.values()]
    claimed = set(session.scalars(select(ClaimLine.voucher_id).where(
        text(LIVE_LINE), ClaimLine.voucher_id.in_(voucher_ids))))
    certified = set(session.scalars(select(Certificate.voucher_id).where(Certificate.voucher_id.in_(voucher_ids))))
    verdicts, seen = [], set()
    for typed, code in zip(voucher_codes, normalised):
        record = used.get(code)
        verdict = claims.judge_line(
            code if record else typed, record, institution_id=institution_id, within=within,
            completed=record is not None and (record.class_id, record.person_key) in completed,
            in_other_claim=record is not None and (record.voucher_id in claimed or code in seen),
            certified=record is not None and record.voucher_id in certified)
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
                                  reason=v.reason, amount_fen=v.amount_fen, funding_source=v.funding_source)
                        for v in verdicts])
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
    _audit(tx, claim, "submitted", submitted_by, {"lines": len(verdicts), "accepted": accepted,
                                                 "total_fen": claim.total_fen})
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
    def at(moment):
        return moment.isoformat() if moment else None
    return {"claim_id": str(claim.id), "institution_id": str(claim.institution_id), "region_code": claim.region_code,
            "status": claim.status, "total_fen": claim.total_fen, "approved_fen": claim.approved_fen,
            "awaiting_second_approval": claim.status == claims.IN_REVIEW and claim.first_approver is not None,
            "submitted_at": at(claim.submitted_at), "reviewed_at": at(claim.reviewed_at),
            "approved_at": at(claim.approved_at), "disbursed_at": at(claim.disbursed_at),
            "decision_reason": claim.decision_reason}


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


def _audit(tx, claim, action, actor, details=None):
    tx.session.add(ClaimAudit(claim_id=claim.id, action=action, actor=actor, at=_now(), details=details))


def start_review(tx, *, claim_id, reviewer, region_code):
    """A manager of the region takes up a submitted application (审核): another will approve it."""
    claim = _claim(tx.session, claim_id, region_code, for_update=True)
    claims.check_reviewer(submitted_by=claim.submitted_by, reviewer=reviewer)
    claim.status = claims.advance(claim.status, claims.IN_REVIEW)
    claim.reviewer, claim.reviewed_at = reviewer, _now()
    _audit(tx, claim, "review_started", reviewer)
    return _claim_view(claim)


def approve_claim(tx, *, claim_id, approver, region_code, rejected_lines=(), dual_approval_fen=None):
    """Approve an application under review, but for the lines the approver refuses (each with its
    reason): the funds of the approved lines are reserved in their pools at once, which refuses an
    approval the pools cannot cover. Above ``dual_approval_fen`` a second approver confirms; when
    the application is approved for good, its payment instructions are made."""
    claim = _claim(tx.session, claim_id, region_code, for_update=True)
    if claim.status != claims.IN_REVIEW:
        raise Conflict("illegal_transition", f"An application that is {claim.status} cannot be approved: "
                                             f"a manager starts its review first.")
    claims.check_approver(submitted_by=claim.submitted_by, reviewer=claim.reviewer,
                          first_approver=claim.first_approver, approver=approver)
    lines = list(tx.session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id, ClaimLine.accepted)
                                    .order_by(ClaimLine.id)))
    if claim.first_approver is None:
        reversed_since = set(tx.session.scalars(select(UsedVoucher.voucher_id).where(
            UsedVoucher.voucher_id.in_([line.voucher_id for line in lines]), UsedVoucher.status == "reversed")))
        _review_lines(lines, rejected_lines, reversed_since)
        approved = [line for line in lines if line.review == "approved"]
        claim.approved_fen = sum(line.amount_fen for line in approved)
        if not approved:
            return _reject(tx, claim, approver, "every line was refused")
        _reserve(tx, claim, approved, approver)
        if claims.needs_second_approval(claim.approved_fen, dual_approval_fen, claim.first_approver):
            claim.first_approver = approver
            _audit(tx, claim, "first_approval", approver, {"approved_fen": claim.approved_fen})
            return _claim_view(claim)
    elif rejected_lines:
        raise InvalidInput("second_approval_whole", "A second approver approves the lines the first approved, or "
                                                    "rejects the application.")
    approved = [line for line in lines if line.review == "approved"]
    refused = [line for line in lines if line.review == "rejected"]
    claim.status = claims.advance(claim.status, claims.outcome(approved, refused))
    claim.approved_by, claim.approved_at = approver, _now()
    _audit(tx, claim, "approved", approver, {"approved_fen": claim.approved_fen, "status": claim.status})
    _instruct_payments(tx, claim, approved)
    tx.emit(events.SUBSIDY_CLAIM_APPROVED, aggregate_id=claim.id, payload={
        "claim_id": str(claim.id), "region_code": claim.region_code, "total_fen": claim.approved_fen})
    return _claim_view(claim)


def _review_lines(lines, rejected_lines, reversed_since):
    """Each accepted line approved, or refused: by the approver with a reason, or because its use
    was undone (撤销) since the application was submitted."""
    refusals = {codes.normalise(given["code"]) or given["code"]: given["reason"] for given in rejected_lines}
    unknown = sorted(set(refusals) - {line.code for line in lines})
    if unknown:
        raise InvalidInput("not_a_line", f"{', '.join(unknown)} is not an accepted line of this application.")
    for line in lines:
        if line.voucher_id in reversed_since:
            refusals[line.code] = "use_reversed"
        line.review = "rejected" if line.code in refusals else "approved"
        line.review_reason = refusals.get(line.code)


def reject_claim(tx, *, claim_id, manager, region_code, reason):
    """Reject an application, submitted or under review, with the reason; funds a first approver
    reserved go back to their pools. Its vouchers may be claimed for again."""
    claim = _claim(tx.session, claim_id, region_code, for_update=True)
    if claim.submitted_by == manager:
        raise Forbidden("own_application", "Nobody decides an application they submitted.")
    return _reject(tx, claim, manager, reason)


def _reject(tx, claim, actor, reason):
    claim.status = claims.advance(claim.status, claims.REJECTED)
    claim.decision_reason = reason
    if claim.first_approver is not None or claim.approved_fen:
        _release(tx, claim, actor)
    tx.session.execute(update(ClaimLine).where(ClaimLine.claim_id == claim.id).values(review="rejected"))
    _audit(tx, claim, "rejected", actor, {"reason": reason})
    return _claim_view(claim)


# -- funding pools and their ledger ---------------------------------------------------

_MOVE = {
    "reserve": "available_fen = available_fen - :amount, reserved_fen = reserved_fen + :amount",
    "pay": "reserved_fen = reserved_fen - :amount, paid_fen = paid_fen + :amount",
    "release": "reserved_fen = reserved_fen - :amount, available_fen = available_fen + :amount",
}


def _move(tx, pool_id, kind, amount, actor, claim_id=None, instruction_id=None):
    """One ledger movement and the pool's balances, in the same transaction. The pool's check
    constraints refuse any account below zero: concurrent approvals cannot overdraw it."""
    try:
        with tx.session.begin_nested():
            tx.session.execute(text(f"UPDATE funding_pools SET {_MOVE[kind]} WHERE id = :pool"),
                               {"amount": amount, "pool": pool_id})
    except IntegrityError:
        return False
    debit, credit = ledger.movement(kind)
    tx.session.add(LedgerEntry(pool_id=pool_id, kind=kind, debit=debit, credit=credit, amount_fen=amount,
                               claim_id=claim_id, instruction_id=instruction_id, actor=actor, at=_now()))
    return True


def _pools_of(session, region_code, funding_sources, lock=False):
    """{funding source: the most specific pool covering the region}, in a stable order."""
    query = select(FundingPool).where(FundingPool.funding_source.in_(sorted(funding_sources))).order_by(FundingPool.id)
    if lock:
        query = query.with_for_update()
    by_source = {}
    for pool in session.scalars(query):
        by_source.setdefault(pool.funding_source, []).append(pool)
    return {source: ledger.pool_for(pools, region_code) for source, pools in by_source.items()}


def _amounts_by_source(lines):
    totals = {}
    for line in lines:
        totals[line.funding_source] = totals.get(line.funding_source, 0) + line.amount_fen
    return totals


def _reserve(tx, claim, lines, actor):
    totals = _amounts_by_source(lines)
    pools = _pools_of(tx.session, claim.region_code, totals)
    for source, amount in sorted(totals.items()):
        pool = pools.get(source)
        if pool is None:
            raise ledger.no_pool(source, claim.region_code)
        if not _move(tx, pool.id, "reserve", amount, actor, claim_id=claim.id):
            available = tx.session.scalar(select(FundingPool.available_fen).where(FundingPool.id == pool.id))
            raise ledger.insufficient(source, pool.region_code, amount, available)


def _release(tx, claim, actor):
    reserved = tx.session.execute(select(LedgerEntry.pool_id, func.sum(LedgerEntry.amount_fen)).where(
        LedgerEntry.claim_id == claim.id, LedgerEntry.kind == "reserve").group_by(LedgerEntry.pool_id)).all()
    for pool_id, amount in reserved:
        if not _move(tx, pool_id, "release", amount, actor, claim_id=claim.id):
            raise Conflict("ledger_mismatch", "The pool holds less in reserve than this application reserved.")


def allocate_budget(tx, *, region_code, funding_source, amount_fen, actor):
    """Grant a region's pool of one funding source a budget (预算下达), or add to it."""
    _check_region(region_code)
    pool_id = tx.session.scalar(pg_insert(FundingPool).values(
        id=uuid.uuid4(), region_code=region_code, funding_source=funding_source, budget_fen=0, available_fen=0,
        reserved_fen=0, paid_fen=0).on_conflict_do_update(
        constraint="funding_pools_one_per_source", set_={"region_code": region_code}).returning(FundingPool.id))
    tx.session.execute(update(FundingPool).where(FundingPool.id == pool_id).values(
        budget_fen=FundingPool.budget_fen + amount_fen, available_fen=FundingPool.available_fen + amount_fen))
    debit, credit = ledger.movement("allocate")
    tx.session.add(LedgerEntry(pool_id=pool_id, kind="allocate", debit=debit, credit=credit, amount_fen=amount_fen,
                               actor=actor, at=_now()))
    return _pool_view(tx.session.get(FundingPool, pool_id, populate_existing=True))


def list_pools(tx, *, region_code):
    """The pools of a region and of the regions inside it, with their balances."""
    _check_region(region_code)
    return {"pools": [_pool_view(pool) for pool in tx.session.scalars(select(FundingPool).where(
        FundingPool.region_code.like(regions.like_pattern(region_code))).order_by(
        FundingPool.region_code, FundingPool.funding_source))]}


def _pool_view(pool):
    return {"pool_id": str(pool.id), "region_code": pool.region_code, "funding_source": pool.funding_source,
            "budget_fen": pool.budget_fen, "available_fen": pool.available_fen, "reserved_fen": pool.reserved_fen,
            "paid_fen": pool.paid_fen}


# -- payments -------------------------------------------------------------------------

def _instruct_payments(tx, claim, lines):
    """The payment instructions of an application approved for good, from its approved lines."""
    used = {u.voucher_id: u for u in tx.session.scalars(select(UsedVoucher).where(
        UsedVoucher.voucher_id.in_([line.voucher_id for line in lines])))}
    payables = [claims.Payable(funding_source=line.funding_source, payee=used[line.voucher_id].terms.get(
        "payee", "institution"), institution_id=str(claim.institution_id),
        person_key=used[line.voucher_id].person_key, amount_fen=line.amount_fen) for line in lines]
    pools, now = _pools_of(tx.session, claim.region_code, {p.funding_source for p in payables}), _now()
    instructed = claims.instructions(payables)
    for source, payee_type, ref, amount in instructed:
        tx.session.add(PaymentInstruction(id=uuid.uuid4(), claim_id=claim.id, pool_id=pools[source].id,
                                          region_code=claim.region_code, payee_type=payee_type, payee_ref=ref,
                                          amount_fen=amount, status="pending", created_at=now))
    _audit(tx, claim, "payments_instructed", claim.approved_by, {"instructions": len(instructed)})


def create_payment_file(tx, *, region_code, created_by):
    """A bank payment file of the region's instructions waiting to be paid (new, or failed
    before): they are marked exported, each in one file at a time."""
    _check_region(region_code)
    waiting = list(tx.session.scalars(select(PaymentInstruction).where(
        PaymentInstruction.region_code.like(regions.like_pattern(region_code)),
        PaymentInstruction.status.in_(("pending", "failed"))).order_by(PaymentInstruction.created_at)
        .with_for_update(skip_locked=True)))
    if not waiting:
        raise Conflict("nothing_to_pay", "No approved application of your region waits for payment.")
    payment_file = PaymentFile(id=uuid.uuid4(), region_code=region_code, created_by=created_by, created_at=_now(),
                               instructions=len(waiting), total_fen=sum(i.amount_fen for i in waiting))
    tx.session.add(payment_file)
    tx.session.flush()
    for instruction in waiting:
        instruction.status, instruction.file_id = "exported", payment_file.id
    return _file_view(payment_file)


def payment_file(tx, *, file_id, region_code):
    """A payment file and its instructions, for the bank file the gateway writes."""
    found = _payment_file(tx.session, file_id, region_code)
    instructions = tx.session.scalars(select(PaymentInstruction).where(PaymentInstruction.file_id == found.id)
                                      .order_by(PaymentInstruction.created_at, PaymentInstruction.id))
    return {**_file_view(found), "rows": [_instruction_view(i) for i in instructions]}


def _payment_file(session, file_id, region_code):
    try:
        found = session.get(PaymentFile, uuid.UUID(str(file_id)))
    except ValueError:
        found = None
    if found is None or not regions.contains(region_code, found.region_code):
        raise not_found("payment_file", file_id)
    return found


def record_payment_results(tx, *, file_id, region_code, results, actor):
    """The bank's answer to a payment file, row by row: paid (the money moves from reserved to paid
    in the ledger) or failed (the instruction goes in the next file). An application whose
    instructions are all paid is disbursed and its vouchers written off (核销). The same answer
    imported again changes nothing."""
    found = _payment_file(tx.session, file_id, region_code)
    instructions = {i.id: i for i in tx.session.scalars(select(PaymentInstruction).where(
        PaymentInstruction.file_id == found.id).with_for_update())}
    rows, paid_claims = [], set()
    for index, result in enumerate(results):
        instruction = instructions.get(_uuid(result["instruction_id"]))
        if instruction is None:
            rows.append({"row": index, "status": "refused", "error": "not_in_file",
                         "message": "This instruction is not in this payment file."})
            continue
        if instruction.status == "paid" or (instruction.status == "failed" and result["status"] == "failed"):
            rows.append({"row": index, "status": "unchanged", "instruction_id": str(instruction.id)})
            continue
        if result["status"] == "paid":
            if not _move(tx, instruction.pool_id, "pay", instruction.amount_fen, actor, claim_id=instruction.claim_id,
                         instruction_id=instruction.id):
                raise Conflict("ledger_mismatch", "The pool holds less in reserve than this instruction pays; "
                                                  "reconcile the pool before importing again.")
            instruction.status, instruction.paid_at = "paid", _now()
            paid_claims.add(instruction.claim_id)
        else:
            instruction.status = "failed"
        instruction.bank_reference = result.get("bank_reference")
        rows.append({"row": index, "status": instruction.status, "instruction_id": str(instruction.id)})
    for claim_id in sorted(paid_claims):
        _disburse_if_paid(tx, claim_id, actor)
    return {"file_id": str(found.id), **{status: sum(r["status"] == status for r in rows)
                                         for status in ("paid", "failed", "unchanged", "refused")}, "rows": rows}


def _disburse_if_paid(tx, claim_id, actor):
    claim = tx.session.get(SubsidyClaim, claim_id, with_for_update=True)
    unpaid = tx.session.scalar(select(func.count()).select_from(PaymentInstruction).where(
        PaymentInstruction.claim_id == claim_id, PaymentInstruction.status != "paid"))
    if unpaid or claim.status == claims.DISBURSED:
        return
    claim.status = claims.advance(claim.status, claims.DISBURSED)
    claim.disbursed_at = _now()
    _audit(tx, claim, "disbursed", actor, {"paid_fen": claim.approved_fen})
    _write_off(tx, claim)


def _file_view(payment_file):
    return {"file_id": str(payment_file.id), "region_code": payment_file.region_code,
            "created_at": payment_file.created_at.isoformat(), "instructions": payment_file.instructions,
            "total_fen": payment_file.total_fen}


def _instruction_view(instruction):
    return {"instruction_id": str(instruction.id), "claim_id": str(instruction.claim_id),
            "payee_type": instruction.payee_type, "payee_ref": instruction.payee_ref,
            "amount_fen": instruction.amount_fen, "status": instruction.status,
            "bank_reference": instruction.bank_reference}


def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _write_off(tx, claim):
    """A paid claim's accepted vouchers are settled (核销): void here, and everywhere once
    the event arrives."""
    lines = tx.session.execute(select(ClaimLine, UsedVoucher).join(
        UsedVoucher, UsedVoucher.voucher_id == ClaimLine.voucher_id).where(
        ClaimLine.claim_id == claim.id, text(LIVE_LINE))).all()
    tx.session.execute(update(UsedVoucher).where(UsedVoucher.voucher_id.in_([u.voucher_id for _, u in lines]))
                       .values(status="settled"))
    tx.emit(events.VOUCHERS_SETTLED, aggregate_id=claim.id, payload={
        "claim_id": str(claim.id), "institution_id": str(claim.institution_id), "vouchers": [
            {"voucher_id": str(u.voucher_id), "code": u.code, "template_id": u.terms["template_id"],
             "region_code": u.region_code, "amount_fen": line.amount_fen} for line, u in lines]})


def get_claim(tx, *, claim_id, region_code):
    """An application with its lines (the verdict at submission and the review's), and its audit trail."""
    claim = _claim(tx.session, claim_id, region_code)
    lines = tx.session.scalars(select(ClaimLine).where(ClaimLine.claim_id == claim.id).order_by(ClaimLine.id))
    audit = tx.session.scalars(select(ClaimAudit).where(ClaimAudit.claim_id == claim.id).order_by(ClaimAudit.id))
    return {**_claim_view(claim), "lines": [{**_line_view(line), "review": line.review,
                                             "review_reason": line.review_reason} for line in lines],
            "audit": [{"action": a.action, "actor": a.actor, "at": a.at.isoformat(), "details": a.details}
                      for a in audit]}


def region_summary(tx, *, region_code):
    """Settlement's own counts for a region: a use undone counts no more."""
    used, settled, settled_fen = tx.session.execute(
        select(func.count().filter(UsedVoucher.status != "reversed"),
               func.count().filter(UsedVoucher.status == "settled"),
               select(func.coalesce(func.sum(ClaimLine.amount_fen), 0)).join(
                   SubsidyClaim, SubsidyClaim.id == ClaimLine.claim_id).where(
                   text(LIVE_LINE), SubsidyClaim.status == claims.DISBURSED,
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


RECONCILIATION_LIST_LIMIT = 1000


def reconciliation(tx, *, region_code, date_from, date_to):
    """Reconciliation (对账) of a region for the vouchers used in a period (China days): how many
    were used, claimed for, approved, paid and written off, with their amounts, and every voucher
    whose stages disagree, line by line (at most RECONCILIATION_LIST_LIMIT per kind; the counts are
    exact)."""
    _check_region(region_code)
    start = datetime.datetime.combine(date_from, datetime.time(), certificates.CHINA)
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time(), certificates.CHINA)
    rows = tx.session.execute(text("""
        SELECT u.code, u.status AS use_status, l.amount_fen, l.review, c.id AS claim_id, c.kind, c.status,
               c.approved_fen,
               (SELECT sum(i.amount_fen) FROM payment_instructions i WHERE i.claim_id = c.id AND i.status = 'paid')
                   AS paid_fen
        FROM used_vouchers u
        LEFT JOIN claim_lines l ON l.voucher_id = u.voucher_id AND l.accepted AND l.review IS DISTINCT FROM 'rejected'
        LEFT JOIN subsidy_claims c ON c.id = l.claim_id
        WHERE u.region_code LIKE :region AND u.used_at >= :start AND u.used_at < :end
        ORDER BY u.code"""), {"region": regions.like_pattern(region_code), "start": start, "end": end}).all()
    totals = {stage: {"vouchers": 0, "fen": 0} for stage in ("used", "claimed", "approved", "paid", "written_off")}
    differences, mismatched = {}, set()
    for row in rows:
        if row.use_status == "reversed":
            if row.claim_id:
                _differ(differences, "claimed_use_reversed", row)
            continue
        stages = _stages(row)
        for stage in stages:
            totals[stage]["vouchers"] += 1
            if stage != "used":
                totals[stage]["fen"] += row.amount_fen or 0
        if "claimed" not in stages:
            _differ(differences, "used_not_claimed", row)
        elif "approved" in stages and "paid" not in stages:
            _differ(differences, "approved_not_paid", row)
        if "paid" in stages and "written_off" not in stages:
            _differ(differences, "paid_not_written_off", row)
        if "written_off" in stages and "paid" not in stages:
            _differ(differences, "written_off_not_paid", row)
        if row.kind == claims.APPLICATION and row.status == claims.DISBURSED and row.paid_fen != row.approved_fen:
            mismatched.add((str(row.claim_id), row.approved_fen, row.paid_fen))
    return {"region_code": region_code, "from": date_from.isoformat(), "to": date_to.isoformat(), "totals": totals,
            "differences": {kind: {"count": len(found), "lines": found[:RECONCILIATION_LIST_LIMIT]}
                            for kind, found in sorted(differences.items())},
            "amount_mismatches": [{"claim_id": c, "approved_fen": a, "paid_fen": p} for c, a, p in sorted(mismatched)]}


def _stages(row):
    """The stages a used voucher reached: claimed for, approved, paid (a disbursed application, or a
    direct settlement), written off."""
    stages = ["used"]
    if row.claim_id and row.status != claims.REJECTED:
        stages.append("claimed")
    if row.kind == claims.DIRECT or (row.review == "approved" and row.status in (
            claims.APPROVED, claims.PARTLY_APPROVED, claims.DISBURSED)):
        stages.append("approved")
    if row.status == claims.DISBURSED:
        stages.append("paid")
    if row.use_status == "settled":
        stages.append("written_off")
    return stages


def _differ(differences, kind, row):
    differences.setdefault(kind, []).append({"code": row.code, "claim_id": str(row.claim_id) if row.claim_id else None,
                                             "claim_status": row.status, "amount_fen": row.amount_fen})
