"""Events attendance publishes."""
from marshmallow import Schema, fields

CHECKIN_RECORDED = "checkin_recorded"
TRAINING_COMPLETED = "training_completed"


class CheckinRecorded(Schema):
    checkin_id = fields.Integer(required=True)
    class_id = fields.UUID(required=True)
    session_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    person_key = fields.String(required=True)
    method = fields.String(required=True)
    checked_in_at = fields.AwareDateTime(required=True)


class TrainingCompleted(Schema):
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    person_key = fields.String(required=True)
    attendance_rate = fields.Float(required=True)
    completed_at = fields.AwareDateTime(required=True)


SCHEMAS = {CHECKIN_RECORDED: CheckinRecorded, TRAINING_COMPLETED: TrainingCompleted}
