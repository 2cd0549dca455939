"""What attendance reads from other services' events."""
from marshmallow import EXCLUDE, Schema, fields


class Site(Schema):
    class Meta:
        unknown = EXCLUDE
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    radius_m = fields.Integer(required=True)


class Session(Schema):
    class Meta:
        unknown = EXCLUDE
    session_id = fields.UUID(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


class ClassRegistered(Schema):
    class Meta:
        unknown = EXCLUDE
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    mode = fields.String(required=True)
    completion_threshold = fields.Float(required=True)
    site = fields.Nested(Site, required=True)
    sessions = fields.List(fields.Nested(Session), required=True)
    roster = fields.List(fields.String(), required=True)


class RosterExtended(Schema):
    class Meta:
        unknown = EXCLUDE
    class_id = fields.UUID(required=True)
    roster = fields.List(fields.String(), required=True)
