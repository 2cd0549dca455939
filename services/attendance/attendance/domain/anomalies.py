"""Anomalous check-ins (异常签到) and silent sessions, for the district bureau's supervision.

The Shanghai notice asks district bureaus to watch subsidised training for scheduled sessions that no
trainee checked in to, and for abnormal check-ins. These rules only find candidates, each with the
evidence a manager needs to confirm or dismiss it; none of them decides that anyone cheated. Each is
conservative where the data is imprecise (GPS accuracy, time buckets), so that noise never accuses.

Evidence is JSON-ready and names trainees only by count or by the first 8 characters of their key.
"""
import datetime
from collections import defaultdict
from dataclasses import dataclass

from attendance.domain.geofence import MAX_ACCEPTED_ACCURACY_M, distance_m

KINDS = ("no_checkins", "shared_device", "impossible_travel", "same_spot_far_away", "outside_schedule")

SILENCE_GRACE = datetime.timedelta(minutes=30)  # late check-ins and clock drift settle within half an hour
SHARED_DEVICE_TRAINEES = 2  # a trainee's own phone checks in only that trainee
MAX_TRAVEL_KMH = 200  # faster than a road or an ordinary train between training sites
TRAVEL_NOISE_M = 2_000  # GPS error and neighbouring sites; nearer pairs say nothing about travel
SAME_SPOT_TRAINEES = 3  # two friends sharing a desk can coincide; three identical positions rarely do
SAME_SPOT_M = 5  # genuine phones in one room scatter by tens of metres
OUTSIDE_TRAINEES = 3  # one or two early or confused trainees are ordinary; a group suggests a class
OUTSIDE_WINDOW = datetime.timedelta(hours=1)  # a lesson lasts about an hour; its attempts fall together

KEY_PREFIX_LENGTH = 8
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


@dataclass(frozen=True)
class Checkin:
    checkin_id: int
    class_id: str
    session_id: str
    person_key: str
    method: str
    at: datetime.datetime
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    device: str | None = None


@dataclass(frozen=True)
class Session:
    session_id: str
    class_id: str
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    site_latitude: float
    site_longitude: float
    radius_m: int


@dataclass(frozen=True)
class Attempt:
    class_id: str
    person_key: str
    at: datetime.datetime


@dataclass(frozen=True)
class Anomaly:
    kind: str
    subject: str
    class_id: str
    session_id: str | None
    evidence: dict


def _prefix(person_key):
    return person_key[:KEY_PREFIX_LENGTH]


def _prefixes(person_keys):
    return sorted({_prefix(k) for k in person_keys})


def _located(checkin):
    return checkin.method == "location" and checkin.latitude is not None and checkin.longitude is not None


def _by_subject(anomalies):
    return sorted(anomalies, key=lambda a: a.subject)


def silent_sessions(sessions, checkins_per_session, now):
    """Sessions long enough over that a check-in can no longer be on its way, and nobody checked in:
    授课安排时段没有学员签到, the notice's own example of training that may not have happened."""
    return _by_subject(
        Anomaly("no_checkins", s.session_id, s.class_id, s.session_id,
                {"starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat()})
        for s in sessions
        if now - s.ends_at >= SILENCE_GRACE and checkins_per_session.get(s.session_id, 0) == 0)


def shared_devices(checkins):
    """One phone checking in several trainees to the same session: someone checking in for absent
    classmates. Card scanners are meant to serve many trainees and are left out."""
    groups = defaultdict(list)
    for c in checkins:
        if c.device is not None and c.method != "card":
            groups[(c.session_id, c.device)].append(c)
    found = []
    for (session_id, device), group in groups.items():
        trainees = {c.person_key for c in group}
        if len(trainees) < SHARED_DEVICE_TRAINEES:
            continue
        group.sort(key=lambda c: (c.at, c.checkin_id))
        found.append(Anomaly("shared_device", f"{session_id}:{device}", group[0].class_id, session_id, {
            "device": device, "trainees": len(trainees), "key_prefixes": _prefixes(trainees),
            "methods": sorted({c.method for c in group}), "times": [c.at.isoformat() for c in group]}))
    return _by_subject(found)


def impossible_travel(previous, current):
    """One trainee located at two places further apart than anyone could travel in the time between:
    at least one of the positions was not the trainee's own. Both accuracy circles are taken off the
    distance first, so a poor fix makes the journey shorter, never longer.

    Returns None for anything but two located check-ins of one trainee. Simultaneous check-ins far
    apart have no finite speed: their evidence carries ``speed_kmh`` None."""
    if not (_located(previous) and _located(current)) or previous.person_key != current.person_key:
        return None
    distance = distance_m(previous.latitude, previous.longitude, current.latitude, current.longitude)
    slack = sum(MAX_ACCEPTED_ACCURACY_M if c.accuracy_m is None else c.accuracy_m for c in (previous, current))
    travelled = max(0.0, distance - slack)
    if travelled <= TRAVEL_NOISE_M:
        return None
    seconds = abs((current.at - previous.at).total_seconds())
    speed_kmh = travelled / 1000 / (seconds / 3600) if seconds else None
    if speed_kmh is not None and speed_kmh <= MAX_TRAVEL_KMH:
        return None
    return Anomaly("impossible_travel", f"{previous.checkin_id}:{current.checkin_id}", current.class_id,
                   current.session_id, {
                       "trainee": _prefix(current.person_key),
                       "previous_at": previous.at.isoformat(), "current_at": current.at.isoformat(),
                       "previous_position": [round(previous.latitude, 4), round(previous.longitude, 4)],
                       "current_position": [round(current.latitude, 4), round(current.longitude, 4)],
                       "previous_accuracy_m": previous.accuracy_m, "current_accuracy_m": current.accuracy_m,
                       "elapsed_s": round(seconds), "distance_km": round(distance / 1000, 1),
                       "speed_kmh": None if speed_kmh is None else round(speed_kmh)})


def same_spot_far_away(checkins, session):
    """Several trainees reporting one and the same position outside the site, let in only by a large
    reported accuracy: one spoofed position passed around, rather than phones in a classroom."""
    located = sorted((c for c in checkins if c.session_id == session.session_id and _located(c)),
                     key=lambda c: (c.at, c.checkin_id))
    groups = []
    for c in located:
        for group in groups:
            if distance_m(group[0].latitude, group[0].longitude, c.latitude, c.longitude) <= SAME_SPOT_M:
                group.append(c)
                break
        else:
            groups.append([c])
    found = []
    for group in groups:
        first, trainees = group[0], {c.person_key for c in group}
        from_site = distance_m(session.site_latitude, session.site_longitude, first.latitude, first.longitude)
        if len(trainees) < SAME_SPOT_TRAINEES or from_site <= session.radius_m:
            continue
        found.append(Anomaly(
            "same_spot_far_away", f"{session.session_id}:{first.latitude:.5f},{first.longitude:.5f}",
            session.class_id, session.session_id, {
                "point": [round(first.latitude, 5), round(first.longitude, 5)],
                "distance_from_site_m": round(from_site), "radius_m": session.radius_m,
                "trainees": len(trainees), "key_prefixes": _prefixes(trainees),
                "accuracies_m": [c.accuracy_m for c in group]}))
    return _by_subject(found)


def _bucket(at):
    return _EPOCH + (at - _EPOCH) // OUTSIDE_WINDOW * OUTSIDE_WINDOW


def outside_schedule(attempts, sessions, now=None):
    """Groups of trainees trying to check in to a class when none of its sessions is open: the
    institution appears to be training outside the schedule it registered.

    With ``now``, only buckets that are over are judged, so that a finding's evidence is final when it
    is first stored."""
    buckets = defaultdict(list)
    for a in attempts:
        buckets[(a.class_id, _bucket(a.at))].append(a)
    starts = defaultdict(list)
    for s in sessions:
        starts[s.class_id].append(s.starts_at)
    found = []
    for (class_id, hour), group in buckets.items():
        trainees = {a.person_key for a in group}
        if len(trainees) < OUTSIDE_TRAINEES or (now is not None and hour + OUTSIDE_WINDOW > now):
            continue
        group.sort(key=lambda a: a.at)
        first = group[0].at
        nearest = min(starts[class_id], key=lambda start: (abs(start - first), start), default=None)
        found.append(Anomaly("outside_schedule", f"{class_id}:{hour.isoformat()}", class_id, None, {
            "hour": hour.isoformat(), "trainees": len(trainees), "key_prefixes": _prefixes(trainees),
            "attempts": len(group), "first_attempt_at": first.isoformat(), "last_attempt_at": group[-1].at.isoformat(),
            "nearest_session_starts_at": None if nearest is None else nearest.isoformat()}))
    return _by_subject(found)
