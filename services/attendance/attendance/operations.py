"""Attendance's use cases: classes and sessions from issuance's catalogue, the vouchers that let
trainees check in (from redemption), check-ins by location, rotating code, card or online request,
presence and completion, and the anomalies managers confirm or dismiss."""
import datetime
import uuid
from collections import defaultdict

from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import evaluations, pagination, regions
from common.db import insert_rows
from common.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleViolation, not_found
from attendance import events
from attendance.domain import anomalies, geofence, rotating_code, schedule
from attendance.models import (Anomaly, Attempt, CheckIn, ClassSession, Completion, Enrolment, Evaluation,
                               TrainingClass, VoucherUse)

METHODS = ("location", "qr", "card", "online")
_TIME_REFUSALS = {"too_early": "Check-in opens 30 minutes before the session starts.",
                  "too_late": "Check-in for this session has closed (it closes 30 minutes after the start).",
                  "no_sessions": "This class has no scheduled sessions."}


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


# -- the catalogue and the vouchers, from other services' events ------------------------

_CLASS = text("""
    INSERT INTO classes (class_id, institution_id, region_code, mode, completion_threshold, latitude, longitude,
                         radius_m, schedule_seq)
    VALUES (:class_id, :institution_id, :region_code, :mode, :completion_threshold, :latitude, :longitude,
            :radius_m, :sequence)
    ON CONFLICT (class_id) DO UPDATE SET
        institution_id = excluded.institution_id, region_code = excluded.region_code, mode = excluded.mode,
        completion_threshold = excluded.completion_threshold, latitude = excluded.latitude,
        longitude = excluded.longitude, radius_m = excluded.radius_m, schedule_seq = excluded.schedule_seq
    WHERE classes.schedule_seq < excluded.schedule_seq
    RETURNING class_id""")


def record_class(tx, event):
    """A class as issuance registered it or changed its schedule (a snapshot with its site and
    sessions): applied only over an older snapshot, since the two events travel apart. Sessions
    dropped from the schedule go, unless someone checked in to them: those happened."""
    p, site = event.payload, event.payload["site"]
    newer = tx.session.execute(_CLASS, {
        "class_id": str(p["class_id"]), "institution_id": str(p["institution_id"]), "region_code": p["region_code"],
        "mode": p["mode"], "completion_threshold": p["completion_threshold"], "latitude": site["latitude"],
        "longitude": site["longitude"], "radius_m": site["radius_m"], "sequence": event.sequence}).first()
    if newer is not None:
        kept = [s["session_id"] for s in p["sessions"]]
        attended = select(CheckIn.session_id).where(CheckIn.class_id == p["class_id"])
        tx.session.execute(delete(ClassSession).where(ClassSession.class_id == p["class_id"],
                                                      ClassSession.session_id.not_in(kept),
                                                      ClassSession.session_id.not_in(attended)))
        insert_rows(tx.session, ClassSession.__table__, ("session_id", "class_id", "starts_at", "ends_at"),
                    [(s["session_id"], p["class_id"], s["starts_at"], s["ends_at"]) for s in p["sessions"]],
                    "ON CONFLICT (session_id) DO UPDATE SET starts_at = excluded.starts_at, ends_at = excluded.ends_at")
    enrol(tx, event)


def enrol(tx, event):
    """Trainees on a class roster, from its registration or from a later batch."""
    insert_rows(tx.session, Enrolment.__table__, ("class_id", "person_key"),
                [(event.payload["class_id"], key) for key in event.payload.get("roster") or ()],
                "ON CONFLICT DO NOTHING")


_USE_COLUMNS = ("voucher_id", "class_id", "person_key", "use_seq", "active")
_NEWER_USE = ("ON CONFLICT (voucher_id) DO UPDATE SET "
              + ", ".join(f"{name} = excluded.{name}" for name in _USE_COLUMNS[1:])
              + " WHERE voucher_uses.use_seq < excluded.use_seq")


def record_uses(tx, event):
    """Vouchers used for classes: their holders may check in there (ADR 0007: a use applies only
    over an older one)."""
    insert_rows(tx.session, VoucherUse.__table__, _USE_COLUMNS,
                [(u["voucher_id"], u["class_id"], u["person_key"], u["use_seq"], True)
                 for u in _newest(event.payload["vouchers"])], _NEWER_USE)


def record_use_reversal(tx, event):
    """A use undone: its holder may no longer check in with it; arriving before its use, it leaves
    a tombstone that the late use cannot pass."""
    p = event.payload
    statement = pg_insert(VoucherUse).values(voucher_id=p["voucher_id"], class_id=p["class_id"],
                                             person_key=p["person_key"], use_seq=p["use_seq"], active=False)
    tx.session.execute(statement.on_conflict_do_update(
        index_elements=["voucher_id"], where=VoucherUse.use_seq <= statement.excluded.use_seq,
        set_={"use_seq": statement.excluded.use_seq, "active": False}))


def _newest(uses):
    newest = {}
    for use in uses:
        if use["voucher_id"] not in newest or newest[use["voucher_id"]]["use_seq"] < use["use_seq"]:
            newest[use["voucher_id"]] = use
    return list(newest.values())


# -- check-ins ------------------------------------------------------------------------

def _uuid(value):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class _Scene:
    """What the check-ins of one transaction need, read in bulk: their classes, sessions,
    rosters and usable vouchers."""

    def __init__(self, session, commands):
        class_ids = {_uuid(c["class_id"]) for c in commands} - {None}
        self.classes = {c.class_id: c for c in session.execute(
            select(TrainingClass.__table__).where(TrainingClass.class_id.in_(class_ids)))}
        self.sessions = defaultdict(list)
        for s in session.execute(select(ClassSession.__table__).where(ClassSession.class_id.in_(class_ids))
                                 .order_by(ClassSession.starts_at)):
            self.sessions[s.class_id].append(s)
        pairs = list({(_uuid(c["class_id"]), c["person_key"]) for c in commands if _uuid(c["class_id"])})
        self.enrolled = set(session.execute(select(Enrolment.class_id, Enrolment.person_key).where(
            tuple_(Enrolment.class_id, Enrolment.person_key).in_(pairs))).tuples()) if pairs else set()
        self.voucher_holders = set(session.execute(select(VoucherUse.class_id, VoucherUse.person_key).where(
            VoucherUse.active, tuple_(VoucherUse.class_id, VoucherUse.person_key).in_(pairs))).tuples()) \
            if pairs else set()


def check_in_many(tx, batch, *, code_key, now=None):
    """打卡签到, the check-ins that arrive together (``Store.run_each``): each command ``{method,
    class_id, person_key, latitude, longitude, accuracy_m | code | institution_id, device}`` is
    recorded for the session open now, or refused with the reason a trainee can act on. A check-in
    repeated for the same session counts once. Completions and anomalies follow from what was
    recorded, in the same transaction."""
    now = now or _utcnow()
    scene = _Scene(tx.session, batch)
    outcomes, accepted, attempts = [None] * len(batch), {}, []
    for index, command in enumerate(batch):
        try:
            accepted[index] = _judge(scene, command, code_key, now)
        except _TooSoonOrLate as refusal:
            attempts.append(refusal.attempt)
            outcomes[index] = refusal.error
        except DomainError as refusal:
            outcomes[index] = refusal
    previous = _previous_located(tx.session, {c["person_key"] for c in accepted.values() if c["latitude"] is not None})
    recorded = _record(tx, scene, accepted.values(), now)
    insert_rows(tx.session, Attempt.__table__, ("class_id", "person_key", "at"),
                [(a["class_id"], a["person_key"], a["at"]) for a in attempts])
    completed = _complete(tx, scene, {(c["class_id"], c["person_key"]) for c in accepted.values()}, now)
    _detect(tx, scene, recorded, previous, attempts, now)
    for index, checkin in accepted.items():
        outcomes[index] = {"class_id": str(checkin["class_id"]), "session_id": str(checkin["session_id"]),
                           "method": checkin["method"], "distance_m": checkin["distance_m"],
                           "repeated": (checkin["session_id"], checkin["person_key"]) not in recorded,
                           "completed": (checkin["class_id"], checkin["person_key"]) in completed}
    return outcomes


class _TooSoonOrLate(Exception):
    """A refusal for the time far from any session: kept as an attempt, the evidence of training
    outside the schedule."""

    def __init__(self, error, attempt):
        super().__init__(error.code)
        self.error, self.attempt = error, attempt


def _judge(scene, command, code_key, now):
    """The check-in a command stands for, or the refusal that says why not."""
    method, person_key = command["method"], command["person_key"]
    training_class = scene.classes.get(_uuid(command["class_id"]))
    if training_class is None:
        raise not_found("class", command["class_id"])
    if (training_class.class_id, person_key) not in scene.enrolled:
        raise NotFound("not_on_roster", "This person is not on the class roster.")
    if (training_class.class_id, person_key) not in scene.voucher_holders:
        raise RuleViolation("no_usable_voucher", "No voucher of this person is used for this class: the institution "
                                                 "scans it first (for an online class, use it in the app).")
    if method == "online" and training_class.mode != "online":
        raise RuleViolation("not_an_online_class", "This class is taught on site: check in there by location, or by "
                                                   "the code on the institution's screen.")
    if method != "online" and training_class.mode == "online":
        raise RuleViolation("online_class", "This class is taught online: check in from the app's online check-in.")
    if method == "card" and str(training_class.institution_id) != str(command.get("institution_id")):
        raise Forbidden("other_institution", "This class belongs to another institution.")
    sessions = scene.sessions[training_class.class_id]
    current, reason = schedule.session_open_at(sessions, now)
    if current is None and schedule.off_schedule(sessions, now):
        raise _TooSoonOrLate(RuleViolation(reason, _TIME_REFUSALS[reason]),
                             {"class_id": training_class.class_id, "person_key": person_key, "at": now})
    if current is None:
        raise RuleViolation(reason, _TIME_REFUSALS[reason])
    checkin = {"class_id": training_class.class_id, "session_id": current.session_id, "person_key": person_key,
               "method": method, "latitude": None, "longitude": None, "accuracy_m": None, "distance_m": None,
               "device": command.get("device")}
    if method == "location":
        checkin.update(latitude=command["latitude"], longitude=command["longitude"],
                       accuracy_m=command["accuracy_m"], distance_m=_located(training_class, command))
    elif method == "qr" and rotating_code.read(code_key, command["code"], now) != str(current.session_id):
        raise RuleViolation("checkin_code_other_session", "This code is another session's: scan the code on the "
                                                          "screen of this class.")
    return checkin


def _located(training_class, command):
    verdict = geofence.judge(site_lat=training_class.latitude, site_lon=training_class.longitude,
                             radius_m=training_class.radius_m, lat=command["latitude"], lon=command["longitude"],
                             accuracy_m=command["accuracy_m"])
    if not verdict.accepted:
        raise RuleViolation(verdict.reason,
                            f"You appear to be {verdict.distance_m:.0f} m from the training site "
                            f"(allowed {training_class.radius_m} m, reported accuracy {command['accuracy_m']:.0f} m); "
                            f"use the QR check-in instead.",
                            {"distance_m": round(verdict.distance_m, 1), "radius_m": training_class.radius_m})
    return round(verdict.distance_m, 1)


_COLUMNS = ("session_id", "class_id", "person_key", "method", "latitude", "longitude", "accuracy_m", "distance_m",
            "device")
_ONCE_PER_SESSION = ("ON CONFLICT ON CONSTRAINT checkins_once_per_session DO NOTHING RETURNING id, session_id, "
                     "class_id, person_key, method, latitude, longitude, accuracy_m, device, checked_in_at")


def _record(tx, scene, checkins, now):
    """The check-ins new for their session, in one statement: {(session id, person key): row}."""
    checkins = list(checkins)
    if not checkins:
        return {}
    rows = insert_rows(tx.session, CheckIn.__table__, (*_COLUMNS, "checked_in_at"),
                       [(*(c[name] for name in _COLUMNS), now) for c in checkins], _ONCE_PER_SESSION)
    recorded = {(row.session_id, row.person_key): row for row in rows}
    if recorded:
        tx.emit_foldable(events.CHECKINS_RECORDED, fold="checkins", payload={"checkins": [
            {"checkin_id": row.id, "class_id": str(row.class_id), "session_id": str(row.session_id),
             "institution_id": str(scene.classes[row.class_id].institution_id),
             "region_code": scene.classes[row.class_id].region_code, "person_key": row.person_key,
             "method": row.method, "checked_in_at": row.checked_in_at.isoformat()}
            for row in recorded.values()]})
    return recorded


def _complete(tx, scene, trainees, now):
    """The (class, trainee) pairs whose attendance has reached the class's threshold; those
    completing now are recorded and announced (trainings_completed) once."""
    if not trainees:
        return set()
    attended = {(class_id, person): count for class_id, person, count in tx.session.execute(
        select(CheckIn.class_id, CheckIn.person_key, func.count(func.distinct(CheckIn.session_id)))
        .where(tuple_(CheckIn.class_id, CheckIn.person_key).in_(list(trainees)))
        .group_by(CheckIn.class_id, CheckIn.person_key))}
    done = {}
    for class_id, person in trainees:
        training_class, scheduled = scene.classes[class_id], len(scene.sessions[class_id])
        if schedule.has_completed(attended.get((class_id, person), 0), scheduled, training_class.completion_threshold):
            rate = schedule.attendance_rate(attended[class_id, person], scheduled)
            done[class_id, person] = {"class_id": class_id, "person_key": person, "completed_at": now,
                                      "attendance_rate": rate}
    if done:
        new = set(tx.session.execute(pg_insert(Completion).on_conflict_do_nothing().returning(
            Completion.class_id, Completion.person_key), list(done.values())).tuples())
        if new:
            tx.emit_foldable(events.TRAININGS_COMPLETED, fold="completions", payload={"completions": [
                {**done[pair], "class_id": str(pair[0]), "completed_at": now.isoformat(),
                 "institution_id": str(scene.classes[pair[0]].institution_id),
                 "region_code": scene.classes[pair[0]].region_code} for pair in new]})
    return set(done)


# -- anomalies ------------------------------------------------------------------------

def _fact(row):
    return anomalies.Checkin(checkin_id=row.id, class_id=str(row.class_id), session_id=str(row.session_id),
                             person_key=row.person_key, method=row.method, at=row.checked_in_at,
                             latitude=row.latitude, longitude=row.longitude, accuracy_m=row.accuracy_m,
                             device=row.device)


def _previous_located(session, people):
    """Each trainee's latest located check-in before this transaction's."""
    if not people:
        return {}
    rows = session.execute(select(CheckIn).distinct(CheckIn.person_key).where(
        CheckIn.person_key.in_(list(people)), CheckIn.latitude.is_not(None))
        .order_by(CheckIn.person_key, CheckIn.checked_in_at.desc())).scalars()
    return {row.person_key: _fact(row) for row in rows}


def _detect(tx, scene, recorded, previous, attempts, now):
    """The anomalies the new check-ins and refused attempts reveal: a device shared by trainees,
    one spot far from the site shared by several, impossible travel, training outside the schedule."""
    found = []
    for row in recorded.values():
        if row.latitude is not None and row.person_key in previous:
            found.append(anomalies.impossible_travel(previous[row.person_key], _fact(row)))
    touched = {row.session_id for row in recorded.values()}
    if touched:
        # Only what can share a finding with the new check-ins: the same phones, or spots outside the radius.
        devices = [row.device for row in recorded.values() if row.device]
        by_session = defaultdict(list)
        near = CheckIn.device.in_(devices) | (CheckIn.distance_m > TrainingClass.radius_m)
        for row in tx.session.scalars(select(CheckIn).join(TrainingClass, TrainingClass.class_id == CheckIn.class_id)
                                      .where(CheckIn.session_id.in_(touched), near)):
            by_session[row.session_id].append(_fact(row))
        for session_id, facts in by_session.items():
            found += anomalies.shared_devices(facts)
            found += anomalies.same_spot_far_away(facts, _session_fact(scene, facts[0].class_id, session_id))
    for class_id in {attempt["class_id"] for attempt in attempts}:
        hour_start = now.replace(minute=0, second=0, microsecond=0)
        tried = [anomalies.Attempt(class_id=str(a.class_id), person_key=a.person_key, at=a.at)
                 for a in tx.session.scalars(select(Attempt).where(Attempt.class_id == class_id,
                                                                   Attempt.at >= hour_start))]
        found += anomalies.outside_schedule(tried, [_session_fact(scene, str(class_id), s.session_id)
                                                    for s in scene.sessions[class_id]])
    _store(tx, [a for a in found if a is not None], scene.classes, now)


def _session_fact(scene, class_id, session_id):
    training_class = scene.classes[_uuid(class_id)]
    session = next(s for s in scene.sessions[training_class.class_id] if s.session_id == _uuid(session_id))
    return anomalies.Session(session_id=str(session.session_id), class_id=str(training_class.class_id),
                             starts_at=session.starts_at, ends_at=session.ends_at,
                             site_latitude=training_class.latitude, site_longitude=training_class.longitude,
                             radius_m=training_class.radius_m)


def _store(tx, found, classes, now):
    """New anomalies, once per finding; a finding that grew (more trainees on one device) updates
    the evidence of one still open. Announced for statistics' counts."""
    found = list({(a.kind, a.subject): a for a in found}.values())
    if not found:
        return
    rows = [{"id": uuid.uuid4(), "kind": a.kind, "subject": a.subject, "class_id": a.class_id,
             "session_id": a.session_id, "institution_id": classes[_uuid(a.class_id)].institution_id,
             "region_code": classes[_uuid(a.class_id)].region_code, "evidence": a.evidence, "status": "open",
             "detected_at": now} for a in found]
    statement = pg_insert(Anomaly)
    new = tx.session.execute(statement.on_conflict_do_update(
        constraint="anomalies_found_once", where=Anomaly.status == "open",
        set_={"evidence": statement.excluded.evidence}).returning(Anomaly.id, Anomaly.detected_at), rows).all()
    fresh = {row.id for row in new if row.detected_at == now}
    if fresh:
        tx.emit(events.ANOMALIES_DETECTED, aggregate_id=uuid.uuid4(), payload={"anomalies": [
            {"anomaly_id": str(r["id"]), "kind": r["kind"], "class_id": str(r["class_id"]),
             "institution_id": str(r["institution_id"]), "region_code": r["region_code"],
             "detected_at": now.isoformat()} for r in rows if r["id"] in fresh]})


def flag_silent_sessions(tx, *, now=None, batch=500):
    """Sessions that ended without a single check-in (授课安排时段没有学员签到), a batch at a time;
    returns how many were flagged, so the caller sweeps until none are left."""
    now = now or _utcnow()
    rows = tx.session.execute(text("""
        SELECT s.session_id, s.class_id, s.starts_at, s.ends_at FROM sessions s
        WHERE s.ends_at < :until AND s.ends_at > :since
          AND NOT EXISTS (SELECT 1 FROM checkins c WHERE c.session_id = s.session_id)
          AND NOT EXISTS (SELECT 1 FROM anomalies a WHERE a.kind = 'no_checkins'
                                                    AND a.subject = CAST(s.session_id AS text))
        ORDER BY s.ends_at LIMIT :batch"""), {"until": now - anomalies.SILENCE_GRACE,
                                              "since": now - datetime.timedelta(days=7), "batch": batch}).all()
    if not rows:
        return 0
    classes = {c.class_id: c for c in tx.session.execute(select(TrainingClass.__table__).where(
        TrainingClass.class_id.in_({r.class_id for r in rows})))}
    found = anomalies.silent_sessions([anomalies.Session(
        session_id=str(r.session_id), class_id=str(r.class_id), starts_at=r.starts_at, ends_at=r.ends_at,
        site_latitude=classes[r.class_id].latitude, site_longitude=classes[r.class_id].longitude,
        radius_m=classes[r.class_id].radius_m) for r in rows], {}, now)
    _store(tx, found, classes, now)
    return len(found)


def list_anomalies(tx, *, region_code, status=None, kind=None, cursor=None, limit=50):
    """A region's anomalies, newest first, with their evidence and the decision taken."""
    query = select(Anomaly).where(Anomaly.region_code.like(regions.like_pattern(region_code)))
    if status:
        query = query.where(Anomaly.status == status)
    if kind:
        query = query.where(Anomaly.kind == kind)
    return pagination.page(tx.session, query, order_by=(Anomaly.detected_at, Anomaly.id), cursor=cursor,
                           limit=limit, key=lambda row: (row[0].detected_at, row[0].id),
                           view=lambda row: _anomaly_view(row[0]))


def decide_anomaly(tx, *, anomaly_id, region_code, decision, reason, decided_by, now=None):
    """A manager of the anomaly's region confirms it (it was abnormal: the bureau acts on it) or
    dismisses it, with the reason; once."""
    anomaly = tx.session.get(Anomaly, _uuid(anomaly_id), with_for_update=True) if _uuid(anomaly_id) else None
    if anomaly is None:
        raise not_found("anomaly", anomaly_id)
    if not regions.contains(region_code, anomaly.region_code):
        raise Forbidden("other_region", "This anomaly belongs to a region outside yours.")
    if anomaly.status != "open":
        raise Conflict("already_decided", f"This anomaly was already {anomaly.status}.")
    anomaly.status, anomaly.reason, anomaly.decided_by, anomaly.decided_at = decision, reason, decided_by, \
        now or _utcnow()
    return _anomaly_view(anomaly)


def _anomaly_view(anomaly):
    return {"anomaly_id": str(anomaly.id), "kind": anomaly.kind, "class_id": str(anomaly.class_id),
            "session_id": str(anomaly.session_id) if anomaly.session_id else None,
            "institution_id": str(anomaly.institution_id), "region_code": anomaly.region_code,
            "evidence": anomaly.evidence, "status": anomaly.status, "reason": anomaly.reason,
            "decided_at": anomaly.decided_at.isoformat() if anomaly.decided_at else None,
            "detected_at": anomaly.detected_at.isoformat()}


# -- what institutions, trainees and managers read --------------------------------------

def current_code(tx, *, class_id, institution_id, code_key, now=None):
    """The rotating code the institution shows for the session open now."""
    now = now or _utcnow()
    training_class = tx.session.get(TrainingClass, _uuid(class_id)) if _uuid(class_id) else None
    if training_class is None:
        raise not_found("class", class_id)
    if str(training_class.institution_id) != str(institution_id):
        raise Forbidden("other_institution", "This class belongs to another institution.")
    sessions = list(tx.session.scalars(select(ClassSession).where(ClassSession.class_id == training_class.class_id)
                                       .order_by(ClassSession.starts_at)))
    current, reason = schedule.session_open_at(sessions, now)
    if current is None:
        raise RuleViolation(reason, _TIME_REFUSALS[reason])
    code, until = rotating_code.make(code_key, current.session_id, now)
    return {"code": code, "session_id": str(current.session_id), "rotates_every_s": rotating_code.ROTATION_SECONDS,
            "valid_until": datetime.datetime.fromtimestamp(until, datetime.timezone.utc).isoformat()}


def attendance_of(tx, *, class_id, person_key):
    """A trainee's own attendance in a class: sessions attended of those scheduled, the rate and
    whether it completes the class."""
    training_class = tx.session.get(TrainingClass, _uuid(class_id)) if _uuid(class_id) else None
    if training_class is None:
        raise not_found("class", class_id)
    if tx.session.get(Enrolment, (training_class.class_id, person_key)) is None:
        raise NotFound("not_on_roster", "This person is not on the class roster.")
    scheduled = tx.session.scalar(select(func.count()).select_from(ClassSession).where(
        ClassSession.class_id == training_class.class_id))
    attended = tx.session.scalar(select(func.count(func.distinct(CheckIn.session_id))).where(
        CheckIn.class_id == training_class.class_id, CheckIn.person_key == person_key))
    return {"class_id": str(training_class.class_id), "scheduled": scheduled, "attended": attended,
            "rate": round(schedule.attendance_rate(attended, scheduled), 4),
            "threshold": training_class.completion_threshold,
            "completed": tx.session.get(Completion, (training_class.class_id, person_key)) is not None}


def class_attendance(tx, *, class_id, region_code, institution_id=None):
    """Presence per session of a class, and how many trainees completed it."""
    training_class = tx.session.get(TrainingClass, _uuid(class_id)) if _uuid(class_id) else None
    if training_class is None:
        raise not_found("class", class_id)
    if institution_id and str(training_class.institution_id) != str(institution_id):
        raise Forbidden("other_institution", "This class belongs to another institution.")
    if not regions.contains(region_code, training_class.region_code):
        raise Forbidden("other_region", "This class belongs to a region outside yours.")
    present = {session_id: count for session_id, count in tx.session.execute(select(
        CheckIn.session_id, func.count()).where(CheckIn.class_id == training_class.class_id)
        .group_by(CheckIn.session_id))}
    sessions = tx.session.scalars(select(ClassSession).where(ClassSession.class_id == training_class.class_id)
                                  .order_by(ClassSession.starts_at))
    enrolled = tx.session.scalar(select(func.count()).select_from(Enrolment).where(
        Enrolment.class_id == training_class.class_id))
    completed = tx.session.scalar(select(func.count()).select_from(Completion).where(
        Completion.class_id == training_class.class_id))
    return {"class_id": str(training_class.class_id), "enrolled": enrolled, "completed": completed,
            "sessions": [{"session_id": str(s.session_id), "starts_at": s.starts_at.isoformat(),
                          "ends_at": s.ends_at.isoformat(), "present": present.get(s.session_id, 0)}
                         for s in sessions]}


def checkin_coverage(tx, *, region_code):
    """Check-in coverage (打卡签到覆盖率): of a region's institutions with classes, those whose
    trainees check in with their vouchers."""
    rows = tx.session.execute(select(
        TrainingClass.institution_id, func.count(func.distinct(TrainingClass.class_id)),
        func.count(CheckIn.id)).outerjoin(CheckIn, CheckIn.class_id == TrainingClass.class_id)
        .where(TrainingClass.region_code.like(regions.like_pattern(region_code)))
        .group_by(TrainingClass.institution_id)).all()
    using = sum(1 for _, _, checkins in rows if checkins)
    return {"region_code": region_code, "institutions": len(rows), "using_checkin": using,
            "coverage": round(using / len(rows), 4) if rows else None,
            "rows": [{"institution_id": str(i), "classes": classes, "checkins": checkins}
                     for i, classes, checkins in sorted(rows, key=lambda r: str(r[0]))]}


def evaluate(tx, *, class_id, person_key, rating, aspects, now=None):
    """A trainee rates a class they completed (培训评价), once: a repeat answers the first rating."""
    training_class = tx.session.get(TrainingClass, _uuid(class_id)) if _uuid(class_id) else None
    if training_class is None:
        raise not_found("class", class_id)
    unknown = sorted(set(aspects) - set(evaluations.ASPECTS))
    if unknown:
        raise InvalidInput("unknown_aspect", f"Unknown aspects {unknown}; known: {', '.join(evaluations.ASPECTS)}.")
    if tx.session.get(Completion, (training_class.class_id, person_key)) is None:
        raise RuleViolation("not_completed", "A class is rated once its training is completed.")
    now = now or _utcnow()
    new = tx.session.execute(pg_insert(Evaluation).values(
        class_id=training_class.class_id, person_key=person_key, rating=rating, aspects=sorted(set(aspects)),
        evaluated_at=now).on_conflict_do_nothing().returning(Evaluation.rating)).scalar()
    evaluation = tx.session.get(Evaluation, (training_class.class_id, person_key))
    if new is not None:
        tx.emit(events.EVALUATIONS_SUBMITTED, aggregate_id=training_class.class_id, payload={"evaluations": [
            {"class_id": str(training_class.class_id), "institution_id": str(training_class.institution_id),
             "region_code": training_class.region_code, "person_key": person_key, "rating": rating,
             "evaluated_at": now.isoformat()}]})
    return {"class_id": str(training_class.class_id), "rating": evaluation.rating, "aspects": evaluation.aspects,
            "evaluated_at": evaluation.evaluated_at.isoformat(), "repeated": new is None}


def region_summary(tx, *, region_code):
    in_region = TrainingClass.region_code.like(regions.like_pattern(region_code))
    checkins = tx.session.scalar(select(func.count()).select_from(CheckIn).join(
        TrainingClass, CheckIn.class_id == TrainingClass.class_id).where(in_region))
    completions = tx.session.scalar(select(func.count()).select_from(Completion).join(
        TrainingClass, Completion.class_id == TrainingClass.class_id).where(in_region))
    return {"checkins": checkins, "completions": completions}
