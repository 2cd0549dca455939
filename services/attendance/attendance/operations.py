"""Attendance's use cases: location check-in and class completion."""
import datetime
import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from common import regions
from common.errors import NotFound, RuleViolation, not_found
from attendance import events
from attendance.domain import geofence, schedule
from attendance.models import CheckIn, ClassSession, Completion, Enrolment, TrainingClass


def record_class(tx, event):
    """A class from issuance's catalogue: its site, sessions and roster."""
    p = event.payload
    site = p["site"]
    tx.session.execute(pg_insert(TrainingClass).on_conflict_do_nothing(), [{
        "class_id": p["class_id"], "institution_id": p["institution_id"], "region_code": p["region_code"],
        "mode": p["mode"], "completion_threshold": p["completion_threshold"], "latitude": site["latitude"],
        "longitude": site["longitude"], "radius_m": site["radius_m"]}])
    if p["sessions"]:
        tx.session.execute(pg_insert(ClassSession).on_conflict_do_nothing(),
                           [{"class_id": p["class_id"], **s} for s in p["sessions"]])
    enrol(tx, event)


def enrol(tx, event):
    """Trainees on a class roster, from its registration or from a later batch."""
    if event.payload["roster"]:
        tx.session.execute(pg_insert(Enrolment).on_conflict_do_nothing(),
                           [{"class_id": event.payload["class_id"], "person_key": k} for k in event.payload["roster"]])


def _class(session, class_id):
    try:
        found = session.get(TrainingClass, uuid.UUID(str(class_id)))
    except ValueError:
        found = None
    if found is None:
        raise not_found("class", class_id)
    return found


def check_in_by_location(tx, *, class_id, person_key, latitude, longitude, accuracy_m, at=None):
    at = at or datetime.datetime.now(datetime.timezone.utc)
    training_class = _class(tx.session, class_id)
    if tx.session.get(Enrolment, (training_class.class_id, person_key)) is None:
        raise NotFound("not_on_roster", "This person is not on the class roster.")
    sessions = list(tx.session.scalars(select(ClassSession).where(ClassSession.class_id == training_class.class_id)
                                       .order_by(ClassSession.starts_at)))
    current, reason = schedule.session_open_at(sessions, at)
    if current is None:
        raise RuleViolation(reason, {"too_early": "Check-in opens 30 minutes before the session starts.",
                                     "too_late": "The session is over; no check-in is possible now.",
                                     "no_sessions": "This class has no scheduled sessions."}[reason])
    verdict = geofence.judge(site_lat=training_class.latitude, site_lon=training_class.longitude,
                             radius_m=training_class.radius_m, lat=latitude, lon=longitude, accuracy_m=accuracy_m)
    if not verdict.accepted:
        raise RuleViolation(verdict.reason,
                            f"You appear to be {verdict.distance_m:.0f} m from the training site "
                            f"(allowed {training_class.radius_m} m, reported accuracy {accuracy_m:.0f} m); "
                            f"use the QR check-in instead.",
                            {"distance_m": round(verdict.distance_m, 1), "radius_m": training_class.radius_m})
    inserted = tx.session.execute(pg_insert(CheckIn).values(
        session_id=current.session_id, class_id=training_class.class_id, person_key=person_key, method="location",
        latitude=latitude, longitude=longitude, accuracy_m=accuracy_m, distance_m=verdict.distance_m,
        checked_in_at=at).on_conflict_do_nothing().returning(CheckIn.id)).scalar()
    result = {"class_id": str(training_class.class_id), "session_id": str(current.session_id),
              "distance_m": round(verdict.distance_m, 1), "repeated": inserted is None}
    if inserted is None:
        return result
    tx.emit(events.CHECKIN_RECORDED, aggregate_id=training_class.class_id, payload={
        "checkin_id": inserted, "class_id": str(training_class.class_id), "session_id": str(current.session_id),
        "institution_id": str(training_class.institution_id), "region_code": training_class.region_code,
        "person_key": person_key, "method": "location", "checked_in_at": at.isoformat()})
    result["completed"] = _complete_if_due(tx, training_class, person_key, len(sessions), at)
    return result


def _complete_if_due(tx, training_class, person_key, scheduled, at):
    attended = tx.session.scalar(select(func.count()).select_from(CheckIn).where(
        CheckIn.class_id == training_class.class_id, CheckIn.person_key == person_key))
    if not schedule.has_completed(attended, scheduled, training_class.completion_threshold):
        return False
    rate = schedule.attendance_rate(attended, scheduled)
    new = tx.session.execute(pg_insert(Completion).values(
        class_id=training_class.class_id, person_key=person_key, attendance_rate=rate, completed_at=at)
        .on_conflict_do_nothing().returning(Completion.person_key)).scalar()
    if new is not None:
        tx.emit(events.TRAINING_COMPLETED, aggregate_id=training_class.class_id, payload={
            "class_id": str(training_class.class_id), "institution_id": str(training_class.institution_id),
            "region_code": training_class.region_code, "person_key": person_key, "attendance_rate": rate,
            "completed_at": at.isoformat()})
    return True


def region_summary(tx, *, region_code):
    in_region = TrainingClass.region_code.like(regions.like_pattern(region_code))
    checkins = tx.session.scalar(select(func.count()).select_from(CheckIn).join(
        TrainingClass, CheckIn.class_id == TrainingClass.class_id).where(in_region))
    completions = tx.session.scalar(select(func.count()).select_from(Completion).join(
        TrainingClass, Completion.class_id == TrainingClass.class_id).where(in_region))
    return {"checkins": checkins, "completions": completions}
