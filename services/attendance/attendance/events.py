"""Events attendance publishes."""
from marshmallow import Schema, fields, validate

CHECKINS_RECORDED = "checkins_recorded"
TRAININGS_COMPLETED = "trainings_completed"
ANOMALIES_DETECTED = "anomalies_detected"
EVALUATIONS_SUBMITTED = "evaluations_submitted"


class RecordedCheckin(Schema):
    checkin_id = fields.Integer(required=True)
    class_id = fields.UUID(required=True)
    session_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    person_key = fields.String(required=True)
    method = fields.String(required=True, validate=validate.OneOf(("location", "qr", "card", "online")))
    checked_in_at = fields.AwareDateTime(required=True)


class CheckinsRecorded(Schema):
    """Check-ins new for their session (a check-in repeated is not announced again); the ones that
    arrive together travel as one event."""
    checkins = fields.List(fields.Nested(RecordedCheckin), required=True)


class DetectedAnomaly(Schema):
    anomaly_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    detected_at = fields.AwareDateTime(required=True)


class AnomaliesDetected(Schema):
    """Abnormal check-in patterns found for managers (异常签到); their evidence stays in attendance."""
    anomalies = fields.List(fields.Nested(DetectedAnomaly), required=True)


class Completion(Schema):
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    person_key = fields.String(required=True)
    attendance_rate = fields.Float(required=True)
    completed_at = fields.AwareDateTime(required=True)


class TrainingsCompleted(Schema):
    """Trainees whose attendance reached their class's threshold (completion, which settlement
    requires before paying); each once, the ones completing together in one event."""
    completions = fields.List(fields.Nested(Completion), required=True)


class SubmittedEvaluation(Schema):
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    person_key = fields.String(required=True)  # the keyed hash: statistics counts users, not ratings
    rating = fields.Integer(required=True, validate=validate.Range(1, 5))
    evaluated_at = fields.AwareDateTime(required=True)


class EvaluationsSubmitted(Schema):
    """Trainees rated classes they completed (培训评价): the rating, never a word of text."""
    evaluations = fields.List(fields.Nested(SubmittedEvaluation), required=True)


SCHEMAS = {CHECKINS_RECORDED: CheckinsRecorded, TRAININGS_COMPLETED: TrainingsCompleted,
           ANOMALIES_DETECTED: AnomaliesDetected, EVALUATIONS_SUBMITTED: EvaluationsSubmitted}
