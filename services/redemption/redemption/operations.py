"""Redemption's use cases: the one-time use of a claimed voucher (by a signed QR scan, a typed
code, an online class or an offline scanner's upload), its reversal, return and expiry, each
decided atomically by a conditional update."""
import base64
import datetime
import json
import uuid

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import codes, pagination, regions
from common.db import array_literal, insert_rows
from common.errors import DomainError, Forbidden, InvalidInput, NotFound, RuleViolation, not_found
from redemption import events
from redemption.domain.use import (check_once_a_year, check_reversal, check_scan_time, check_use, china_day,
                                   earlier_scan_wins, expired_on, refuse_by_status)
from redemption.domain.use import today as china_today
from redemption.models import (InstitutionProjects, OfflineScan, QrKey, TemplateTerms, TrainingClass, UseConflict,
                               UseReversal, VoucherRight)
from voucher_client import qr

VOID_CHUNK = 1000  # vouchers per vouchers_voided event
EXPIRY_BATCH = 1000  # rights expired per transaction, and per vouchers_expired event
HOLDER_LOCK = 1  # advisory lock namespace: one use at a time per holder


_TERMS = text("""
    INSERT INTO template_terms (template_id, version, terms) VALUES (:template_id, :version, CAST(:terms AS jsonb))
    ON CONFLICT DO NOTHING""")
# One statement for a whole chunk, compiled once: a targeted issuance sends a million rows.
_RIGHTS = text("""
    INSERT INTO voucher_rights (voucher_id, code, holder, region_code, template_id, template_version, status,
                                claimed_at, valid_until, subsidy_ratio_percent, profile)
    SELECT claim.voucher_id, claim.code, claim.holder, :region_code, :template_id, :version, 'claimed',
           claim.claimed_at, coalesce(claim.valid_until, :template_valid_until), claim.subsidy_ratio_percent,
           claim.profile
    FROM unnest(CAST(:voucher_ids AS uuid[]), CAST(:codes AS text[]), CAST(:holders AS text[]),
                CAST(:claimed_at AS timestamptz[]), CAST(:valid_until AS date[]), CAST(:ratios AS int[]),
                CAST(:profiles AS jsonb[]))
         AS claim (voucher_id, code, holder, claimed_at, valid_until, subsidy_ratio_percent, profile)
    ON CONFLICT (voucher_id) DO UPDATE SET
        code = excluded.code, holder = excluded.holder, template_id = excluded.template_id,
        template_version = excluded.template_version, status = excluded.status,
        claimed_at = excluded.claimed_at, valid_until = excluded.valid_until,
        subsidy_ratio_percent = excluded.subsidy_ratio_percent, profile = excluded.profile
    WHERE voucher_rights.status = 'returned'""")


def record_claims(tx, event):
    """Claimed vouchers become usable rights; a redelivered chunk changes nothing. A returned
    voucher claimed again from the pool (换券) becomes its new holder's right, at the new holder's
    subsidy ratio. A voucher without a last day of its own ends with its template."""
    terms, vouchers = event.payload["template"], event.payload["vouchers"]
    version = {"template_id": terms["template_id"], "version": terms["version"]}
    tx.session.execute(_TERMS, {**version, "terms": json.dumps(terms, default=str)})
    tx.session.execute(_RIGHTS, {
        **version, "region_code": terms["region_code"], "template_valid_until": terms["valid_until"],
        "voucher_ids": array_literal(v["voucher_id"] for v in vouchers),
        "codes": array_literal(v["code"] for v in vouchers),
        "holders": array_literal(v["person_key"] for v in vouchers),
        "claimed_at": array_literal(v["claimed_at"] for v in vouchers),
        "valid_until": array_literal(v["valid_until"] for v in vouchers),
        "ratios": array_literal(v["subsidy_ratio_percent"] for v in vouchers),
        "profiles": array_literal(None if v["profile"] is None else json.dumps(v["profile"]) for v in vouchers)})


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


def _refusal_now(session, voucher_id):
    """Why a conditional update found the right no longer claimed: a concurrent scan, void,
    return or expiry changed it first."""
    return refuse_by_status(session.scalar(select(VoucherRight.status).where(VoucherRight.voucher_id == voucher_id)))


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


# -- QR codes ---------------------------------------------------------------------------

def issue_qr(tx, *, code, person_key, keys, now=None):
    """The dynamic QR payload a holder's app shows (动态二维码): only the holder gets one, only for a
    voucher still usable, and it stops working two minutes later."""
    right = _right(tx.session, code)
    if right.holder != person_key:
        raise RuleViolation("not_the_holder", "Only the voucher's holder can show its QR code.")
    refusal = refuse_by_status(right.status)
    if refusal:
        raise refusal
    key_id, private = keys.signing(tx.session)
    payload, expires_at = qr.sign(private, key_id, right.code, right.holder, now=(now or _utcnow()).timestamp())
    return {"code": right.code, "payload": payload, "key_id": key_id,
            "expires_at": datetime.datetime.fromtimestamp(expires_at, datetime.timezone.utc).isoformat()}


def qr_key_set(tx, *, keys):
    """The published key set: every key that verifies now, and the retired ones marked so, for
    scanners that check codes offline."""
    rows = tx.session.execute(select(QrKey.key_id, QrKey.public_key, QrKey.status, QrKey.created_at, QrKey.retired_at)
                              .order_by(QrKey.created_at)).all()
    return {"algorithm": "Ed25519", "format": qr.PREFIX, "lifetime_s": qr.LIFETIME_SECONDS, "keys": [
        {"key_id": r.key_id, "status": r.status, "public_key": base64.urlsafe_b64encode(r.public_key).decode(),
         "created_at": r.created_at.isoformat(), "retired_at": r.retired_at.isoformat() if r.retired_at else None}
        for r in rows]}


def _scanned(command, verifying, now):
    """(code, holder tag) of what was scanned: a signed QR payload, checked for authenticity and
    freshness at ``now``; or a code typed from the print, which names no holder (tag None)."""
    if command.get("qr"):
        try:
            scan = qr.verify(command["qr"], verifying, now=now.timestamp())
        except qr.QrRefused as refused:
            raise RuleViolation(refused.code, refused.message)
        return scan.code, scan.holder_tag
    code = codes.normalise(command.get("code"))
    if code is None:
        raise InvalidInput("invalid_code", "This is not a voucher code: check it for a typo.")
    return code, None


def _check_holder(right, tag):
    if tag is not None and tag != qr.holder_tag(right["holder"]):
        raise RuleViolation("qr_other_holder", "This QR code was made for an earlier holder of the voucher; ask the "
                                               "holder to show a fresh one.")


# -- using vouchers -----------------------------------------------------------------------

_RIGHT = (VoucherRight.voucher_id, VoucherRight.code, VoucherRight.holder, VoucherRight.region_code,
          VoucherRight.status, VoucherRight.valid_until, VoucherRight.used_at, VoucherRight.used_by_institution,
          VoucherRight.used_in_class, VoucherRight.used_by_device, VoucherRight.use_seq,
          VoucherRight.subsidy_ratio_percent, VoucherRight.profile, TemplateTerms.terms)


def _rights(session, voucher_codes, lock=False):
    """{code: the right as a dict} for the codes that have one; ``lock``: their rows, in code order,
    until the commit."""
    query = select(*_RIGHT).join(VoucherRight.template).where(VoucherRight.code.in_(list(voucher_codes)))
    if lock:
        query = query.order_by(VoucherRight.code).with_for_update(of=VoucherRight)
    return {row.code: dict(row._mapping) for row in session.connection().execute(query)}


def _classes(session, class_ids):
    wanted = []
    for class_id in set(map(str, class_ids)):
        try:
            wanted.append(uuid.UUID(class_id))
        except ValueError:
            pass
    found = session.connection().execute(select(TrainingClass.__table__).where(TrainingClass.class_id.in_(wanted)))
    return {str(c.class_id): c for c in found}


def _projects_allowed(session, institution_ids):
    """{institution id: (occupation, skill level) it may train for}; an institution not limited is absent."""
    return {row.institution_id: [(p["occupation"], p["skill_level"]) for p in row.projects]
            for row in session.connection().execute(select(InstitutionProjects.institution_id,
                                                           InstitutionProjects.projects).where(
                InstitutionProjects.institution_id.in_(list(institution_ids))))}


def _uses_by_holder(session, holders):
    """{holder: [(voucher id, occupation, used at)]} of their used vouchers, read under a lock on
    each holder (taken in one order), so that two scans of one person's vouchers at once cannot
    both pass the once-a-year rule."""
    ordered = sorted(set(holders))
    if not ordered:
        return {}
    session.connection().execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(h)) "
                                      "FROM unnest(CAST(:holders AS text[])) h"),
                    {"space": HOLDER_LOCK, "holders": ordered})
    found = {}
    for holder, voucher_id, occupation, used_at in session.connection().execute(
            select(VoucherRight.holder, VoucherRight.voucher_id, TemplateTerms.terms["occupation"].astext,
                   VoucherRight.used_at).join(VoucherRight.template)
            .where(VoucherRight.holder.in_(ordered), VoucherRight.status.in_(("used", "settled")))):
        found.setdefault(holder, []).append((voucher_id, occupation, used_at))
    return found


class _Uses:
    """The uses one transaction decides: what they need is read in bulk, each is checked in
    order against what the transaction itself already decided, and all are written with one
    conditional update and announced in one ``vouchers_used``."""

    def __init__(self, session, voucher_codes, class_ids, lock=False):
        self.rights = _rights(session, voucher_codes, lock=lock)
        self.classes = _classes(session, class_ids)
        self.allowed = _projects_allowed(session, {c.institution_id for c in self.classes.values()})
        self.uses = _uses_by_holder(session, [r["holder"] for r in self.rights.values()])
        self.decided = []

    def decided_here(self, right):
        return any(decided is right for decided in self.decided)

    def right(self, code):
        right = self.rights.get(code)
        if right is None:
            raise NotFound("voucher_not_claimed", "No claimed voucher has this code.")
        return right

    def check(self, right, *, class_id, institution_id, at):
        """The rules of a use at ``at`` (its China day) by ``institution_id`` for ``class_id``."""
        training_class = self.classes.get(str(class_id))
        if training_class is None:
            raise not_found("class", class_id)
        day = china_day(at)
        check_use(right["terms"], valid_until=right["valid_until"], institution_id=uuid.UUID(str(institution_id)),
                  training_class=training_class, day=day,
                  allowed_projects=self.allowed.get(training_class.institution_id))
        check_once_a_year(right["terms"], day=day, earlier_uses=[
            (occupation, used_at) for voucher_id, occupation, used_at in self.uses.get(right["holder"], ())
            if voucher_id != right["voucher_id"]])
        return training_class

    def use(self, right, training_class, *, at, device_id=None):
        """Decide the use; later checks of this transaction see it."""
        right.update(status="used", used_at=at, used_by_institution=training_class.institution_id,
                     used_in_class=training_class.class_id, used_by_device=device_id)
        self.uses.setdefault(right["holder"], []).append(
            (right["voucher_id"], right["terms"]["occupation"], at))
        self.decided.append(right)
        return right

    def write(self, tx):
        """Write every use decided; returns the voucher ids the database let through (a right a
        concurrent transaction changed first is not among them)."""
        if not self.decided:
            return set()
        won = {row.voucher_id: row.use_seq for row in tx.session.connection().execute(_USE, {
            "voucher_ids": [str(r["voucher_id"]) for r in self.decided],
            "used_at": [r["used_at"] for r in self.decided],
            "institution_ids": [str(r["used_by_institution"]) for r in self.decided],
            "class_ids": [str(r["used_in_class"]) for r in self.decided],
            "device_ids": [str(r["used_by_device"]) if r["used_by_device"] else None for r in self.decided]})}
        vouchers = []
        for right in self.decided:
            if right["voucher_id"] in won:
                right["use_seq"] = won[right["voucher_id"]]
                vouchers.append(_use_data(right))
        if vouchers:
            tx.emit_foldable(events.VOUCHERS_USED, payload={"vouchers": vouchers}, fold="vouchers")
        return set(won)


# The database decides between concurrent scans: only one finds the voucher still claimed.
_USE = text("""
    UPDATE voucher_rights SET status = 'used', used_at = u.used_at, used_by_institution = u.institution_id,
                              used_in_class = u.class_id, used_by_device = u.device_id,
                              use_seq = voucher_rights.use_seq + 1
    FROM unnest(CAST(:voucher_ids AS uuid[]), CAST(:used_at AS timestamptz[]), CAST(:institution_ids AS uuid[]),
                CAST(:class_ids AS uuid[]), CAST(:device_ids AS uuid[]))
         AS u (voucher_id, used_at, institution_id, class_id, device_id)
    WHERE voucher_rights.voucher_id = u.voucher_id AND voucher_rights.status = 'claimed'
    RETURNING voucher_rights.voucher_id, voucher_rights.use_seq""")


def _use_data(right):
    return {"voucher_id": str(right["voucher_id"]), "code": right["code"], "person_key": right["holder"],
            "institution_id": str(right["used_by_institution"]), "class_id": str(right["used_in_class"]),
            "device_id": str(right["used_by_device"]) if right["used_by_device"] else None,
            "used_at": right["used_at"].isoformat(), "use_seq": right["use_seq"],
            "subsidy_ratio_percent": right["subsidy_ratio_percent"], "profile": right["profile"],
            "template": right["terms"]}


def _used_view(right):
    return {"voucher_id": str(right["voucher_id"]), "code": right["code"], "status": "used",
            "used_at": right["used_at"].isoformat(), "class_id": str(right["used_in_class"])}


def verify(tx, *, keys, code=None, qr_payload=None, now=None):
    """验真: authenticity and state, without using the voucher. A QR code is checked for its
    signature, its freshness and its holder; a typed code for its check character."""
    now = now or _utcnow()
    voucher_code, tag = _scanned({"code": code, "qr": qr_payload}, keys.verifying(tx.session, [qr_payload]), now)
    right = _rights(tx.session, [voucher_code]).get(voucher_code)
    if right is None:
        raise NotFound("voucher_not_claimed", "No claimed voucher has this code.")
    _check_holder(right, tag)
    refusal = refuse_by_status(right["status"])
    return {"voucher_id": str(right["voucher_id"]), "code": right["code"], "status": right["status"],
            "usable": refusal is None, "reason": refusal.code if refusal else None,
            "message": refusal.message if refusal else None, "region_code": right["region_code"],
            "template_id": right["terms"]["template_id"], "holder_checked": tag is not None}


def redeem_vouchers(tx, batch, *, keys, now=None):
    """扫码用券, the scans that arrive together (``Store.run_each``): each command ``{qr | code,
    class_id, institution_id, device_id}`` uses its voucher for the class, or gets the refusal that
    says why, as if it had come alone and in this order."""
    now = now or _utcnow()
    outcomes, scanned = [None] * len(batch), {}
    verifying = keys.verifying(tx.session, [command.get("qr") for command in batch])
    for index, command in enumerate(batch):
        try:
            scanned[index] = _scanned(command, verifying, now)
        except DomainError as refusal:
            outcomes[index] = refusal
    uses = _Uses(tx.session, {code for code, _ in scanned.values()}, [batch[i]["class_id"] for i in scanned])
    decided = {}
    for index, (code, tag) in scanned.items():
        command = batch[index]
        try:
            right = uses.right(code)
            _check_holder(right, tag)
            refusal = refuse_by_status(right["status"])
            if refusal:
                raise refusal
            training_class = uses.check(right, class_id=command["class_id"], institution_id=command["institution_id"],
                                        at=now)
            decided[index] = uses.use(right, training_class, at=now, device_id=command.get("device_id"))
        except DomainError as refusal:
            outcomes[index] = refusal
    won = uses.write(tx)
    for index, right in decided.items():
        outcomes[index] = _used_view(right) if right["voucher_id"] in won else (
            _refusal_now(tx.session, right["voucher_id"]) or refuse_by_status("used"))
    return outcomes


def redeem_online(tx, *, code, class_id, person_key, now=None):
    """An online class (线上培训): the holder's identity-verified request uses the voucher itself, no scan."""
    now = now or _utcnow()
    voucher_code = codes.normalise(code)
    if voucher_code is None:
        raise InvalidInput("invalid_code", "This is not a voucher code: check it for a typo.")
    uses = _Uses(tx.session, [voucher_code], [class_id])
    right = uses.right(voucher_code)
    if right["holder"] != person_key:
        raise RuleViolation("not_the_holder", "Only the voucher's holder can use it for an online class.")
    refusal = refuse_by_status(right["status"])
    if refusal:
        raise refusal
    training_class = uses.classes.get(str(class_id))
    if training_class is None:
        raise not_found("class", class_id)
    if training_class.mode != "online":
        raise RuleViolation("not_an_online_class", "This class is taught on site: the institution scans the voucher "
                                                   "there.")
    uses.check(right, class_id=class_id, institution_id=training_class.institution_id, at=now)
    uses.use(right, training_class, at=now)
    if not uses.write(tx):
        raise _refusal_now(tx.session, right["voucher_id"]) or refuse_by_status("used")
    return _used_view(right)


# -- offline scanners -------------------------------------------------------------------

DEVICE_LOCK = 2  # advisory lock namespace: one upload at a time per device


def redeem_offline(tx, *, device_id, institution_id, scans, keys, now=None):
    """A device's scans made offline (store and forward), applied in the device's order, each at the
    moment it was made: its answer is stored under the device's sequence number, so an upload
    repeated answers the same and changes nothing. When a voucher was used at two places, the
    first use by scan time wins (inside the standing use's grace window) and the other becomes a
    conflict, answered to the device and listed for the region's managers."""
    now, device_id = now or _utcnow(), uuid.UUID(str(device_id))
    tx.session.execute(select(func.pg_advisory_xact_lock(DEVICE_LOCK, func.hashtext(str(device_id)))))
    answered = {row.sequence: row.outcome for row in tx.session.execute(
        select(OfflineScan.sequence, OfflineScan.outcome).where(
            OfflineScan.device_id == device_id,
            OfflineScan.sequence.in_([scan["sequence"] for scan in scans])))}
    fresh = sorted((scan for scan in scans if scan["sequence"] not in answered), key=lambda scan: scan["sequence"])
    verifying, scanned = keys.verifying(tx.session, [scan.get("qr") for scan in fresh]), {}
    for scan in fresh:
        try:
            check_scan_time(scan["scanned_at"], now)
            scanned[scan["sequence"]] = _scanned(scan, verifying, scan["scanned_at"])
        except DomainError as refusal:
            answered[scan["sequence"]] = _refused(refusal)
    uses = _Uses(tx.session, {code for code, _ in scanned.values()}, [scan["class_id"] for scan in fresh], lock=True)
    displaced = []
    for scan in fresh:
        if scan["sequence"] in answered:
            continue
        code, tag = scanned[scan["sequence"]]
        try:
            answered[scan["sequence"]] = _apply_offline(tx, uses, scan, code, tag, device_id, institution_id, now,
                                                        displaced)
        except DomainError as refusal:
            answered[scan["sequence"]] = _refused(refusal)
    for standing in displaced:  # undone before the uses that displace them are written
        _undo(tx, standing, reason="earlier_offline_scan", reversed_by="offline_conflict", now=now)
    won = uses.write(tx)
    for scan in fresh:
        outcome = answered[scan["sequence"]]
        if outcome.get("status") == "used" and uuid.UUID(outcome["voucher_id"]) not in won:
            answered[scan["sequence"]] = _refused(refuse_by_status("used"))
    insert_rows(tx.session, OfflineScan.__table__, ("device_id", "sequence", "scanned_at", "outcome"),
                [(device_id, scan["sequence"], scan["scanned_at"], json.dumps(answered[scan["sequence"]]))
                 for scan in fresh], "ON CONFLICT DO NOTHING")
    return [{"sequence": scan["sequence"], **answered[scan["sequence"]]} for scan in scans]


def _apply_offline(tx, uses, scan, code, tag, device_id, institution_id, now, displaced):
    right = uses.right(code)
    _check_holder(right, tag)
    at = scan["scanned_at"]
    if right["status"] == "used":
        mine = (str(right["used_in_class"]), str(right["used_by_institution"])) == (str(scan["class_id"]),
                                                                                  str(institution_id))
        if mine:
            raise refuse_by_status("used")  # the same voucher scanned twice for the same class
        # The device's order decides among its own scans; scan times decide against uses already standing.
        if uses.decided_here(right) or not earlier_scan_wins(right["terms"], standing_used_at=right["used_at"],
                                                              scanned_at=at, now=now):
            _record_conflict(tx, right, winner=_use_summary(right),
                             loser=_use_summary(right, institution_id, scan["class_id"], device_id, at),
                             reason="used_elsewhere_first")
            return {"status": "conflict", "error": "used_elsewhere_first",
                    "message": "This voucher was used elsewhere before this scan: this scan does not count.",
                    "details": {"used_at": right["used_at"].isoformat(),
                                "same_institution": str(right["used_by_institution"]) == str(institution_id)}}
        training_class = uses.check(right, class_id=scan["class_id"], institution_id=institution_id, at=at)
        _record_conflict(tx, right, winner=_use_summary(right, institution_id, scan["class_id"], device_id, at),
                         loser=_use_summary(right), reason="earlier_offline_scan")
        displaced.append(dict(right))  # the standing use gives way to this earlier scan
        return {"status": "used", **_used_view(uses.use(right, training_class, at=at, device_id=device_id))}
    refusal = refuse_by_status(right["status"])
    if refusal:
        raise refusal
    training_class = uses.check(right, class_id=scan["class_id"], institution_id=institution_id, at=at)
    return {"status": "used", **_used_view(uses.use(right, training_class, at=at, device_id=device_id))}


def _refused(refusal):
    return {"status": "refused", **refusal.as_dict()}


def _use_summary(right, institution_id=None, class_id=None, device_id=None, used_at=None):
    """A use, for a conflict record: where, when, by which device; never who."""
    return {"institution_id": str(institution_id or right["used_by_institution"]),
            "class_id": str(class_id or right["used_in_class"]),
            "device_id": str(device_id or right["used_by_device"]) if (device_id or right["used_by_device"]) else None,
            "used_at": (used_at or right["used_at"]).isoformat()}


def _record_conflict(tx, right, *, winner, loser, reason):
    tx.session.add(UseConflict(voucher_id=right["voucher_id"], code=right["code"], region_code=right["region_code"],
                               winner=winner, loser=loser, loser_institution_id=uuid.UUID(loser["institution_id"]),
                               reason=reason))


def list_conflicts(tx, *, region_code, institution_id=None, cursor=None, limit=50):
    """Vouchers used at two places, newest first: a region's, or those an institution lost."""
    query = select(UseConflict).where(UseConflict.region_code.like(regions.like_pattern(region_code)))
    if institution_id:
        query = query.where(UseConflict.loser_institution_id == uuid.UUID(str(institution_id)))
    return pagination.page(tx.session, query, order_by=(UseConflict.detected_at, UseConflict.id), cursor=cursor,
                           limit=limit, key=lambda row: (row[0].detected_at, row[0].id), view=lambda row: {
                               "voucher_id": str(row[0].voucher_id), "code": row[0].code,
                               "region_code": row[0].region_code, "reason": row[0].reason, "winner": row[0].winner,
                               "loser": row[0].loser, "detected_at": row[0].detected_at.isoformat()})


# -- reversal ---------------------------------------------------------------------------

def reverse_use(tx, *, code, institution_id, reason, reversed_by, now=None):
    """撤销: the institution that used a voucher by mistake undoes the use, inside the template's
    grace window; the voucher is claimed again, and the reversal is audited."""
    now = now or _utcnow()
    voucher_code = codes.normalise(code)
    if voucher_code is None:
        raise InvalidInput("invalid_code", "This is not a voucher code: check it for a typo.")
    right = _rights(tx.session, [voucher_code], lock=True).get(voucher_code)
    if right is None:
        raise NotFound("voucher_not_claimed", "No claimed voucher has this code.")
    check_reversal(right["terms"], status=right["status"], used_at=right["used_at"],
                   used_by=right["used_by_institution"], institution_id=uuid.UUID(str(institution_id)), now=now)
    _undo(tx, right, reason=reason, reversed_by=reversed_by, now=now)
    return {"voucher_id": str(right["voucher_id"]), "code": right["code"], "status": "claimed",
            "reversed_at": now.isoformat(), "reason": reason}


def _undo(tx, right, *, reason, reversed_by, now):
    """A standing use undone (``right`` as it stood, its rows locked): the voucher is claimed again,
    the reversal audited and announced."""
    tx.session.execute(update(VoucherRight).where(VoucherRight.voucher_id == right["voucher_id"],
                                                  VoucherRight.status == "used")
                       .values(status="claimed", used_at=None, used_by_institution=None, used_in_class=None,
                               used_by_device=None))
    tx.session.add(UseReversal(voucher_id=right["voucher_id"], institution_id=right["used_by_institution"],
                               class_id=right["used_in_class"], used_at=right["used_at"], reason=reason,
                               reversed_by=reversed_by))
    tx.emit(events.VOUCHER_USE_REVERSED, aggregate_id=right["voucher_id"], payload={
        "voucher_id": str(right["voucher_id"]), "code": right["code"], "person_key": right["holder"],
        "institution_id": str(right["used_by_institution"]), "class_id": str(right["used_in_class"]),
        "used_at": right["used_at"].isoformat(), "use_seq": right["use_seq"], "reversed_at": now.isoformat(),
        "reason": reason, "subsidy_ratio_percent": right["subsidy_ratio_percent"], "profile": right["profile"],
        "template": right["terms"]})


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
        raise _refusal_now(tx.session, right.voucher_id) or _not_the_holder()
    tx.emit(events.VOUCHER_RETURNED, aggregate_id=right.voucher_id, payload={
        "voucher_id": str(right.voucher_id), "code": right.code, "returned_at": returned_at.isoformat(),
        "profile": right.profile, "template": right.terms})
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
