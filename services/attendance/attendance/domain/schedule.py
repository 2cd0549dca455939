"""When a check-in counts, and when a trainee has completed a class."""
import datetime

EARLY_WINDOW = datetime.timedelta(minutes=30)
LATE_WINDOW = datetime.timedelta(minutes=30)


def session_open_at(sessions, at):
    """The session a check-in at ``at`` belongs to: from 30 minutes before its start to 30
    minutes after (presence is taken at the start). Returns (session, None) or (None, reason):
    ``too_late`` while a session is under way but its check-in has closed, or after the last one;
    ``too_early`` before the next one opens."""
    for session in sessions:
        if session.starts_at - EARLY_WINDOW <= at <= session.starts_at + LATE_WINDOW:
            return session, None
    if any(session.starts_at + LATE_WINDOW < at <= session.ends_at for session in sessions):
        return None, "too_late"
    if any(at < session.starts_at - EARLY_WINDOW for session in sessions):
        return None, "too_early"
    return None, "too_late" if sessions else "no_sessions"


OFF_SCHEDULE_MARGIN = datetime.timedelta(hours=2)


def off_schedule(sessions, at):
    """No session of the class runs within two hours of ``at``: a check-in tried then is no late or
    early trainee, and several of them suggest training outside the registered schedule."""
    return not any(s.starts_at - OFF_SCHEDULE_MARGIN <= at <= s.ends_at + OFF_SCHEDULE_MARGIN for s in sessions)


def attendance_rate(attended, scheduled):
    return attended / scheduled if scheduled else 0.0


def has_completed(attended, scheduled, threshold):
    return scheduled > 0 and attendance_rate(attended, scheduled) >= threshold
