"""When a check-in counts, and when a trainee has completed a class."""
import datetime

EARLY_WINDOW = datetime.timedelta(minutes=30)


def session_open_at(sessions, at):
    """The session a check-in at ``at`` belongs to: from 30 minutes before its start to
    its end. Returns (session, None) or (None, reason)."""
    for session in sessions:
        if session.starts_at - EARLY_WINDOW <= at <= session.ends_at:
            return session, None
    if any(at < s.starts_at - EARLY_WINDOW for s in sessions):
        return None, "too_early"
    return None, "too_late" if sessions else "no_sessions"


def attendance_rate(attended, scheduled):
    return attended / scheduled if scheduled else 0.0


def has_completed(attended, scheduled, threshold):
    return scheduled > 0 and attendance_rate(attended, scheduled) >= threshold
