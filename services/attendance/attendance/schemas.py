"""What attendance reads from other services' events."""
from marshmallow import fields, validate

from common.events import Contract


class Site(Contract):
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    radius_m = fields.Integer(required=True)


class Session(Contract):
    session_id = fields.UUID(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


class ClassSnapshot(Contract):
    """class_registered, and class_schedule_changed (the same class, its schedule replaced; no roster)."""
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    mode = fields.String(required=True)
    completion_threshold = fields.Float(required=True)
    site = fields.Nested(Site, required=True)
    sessions = fields.List(fields.Nested(Session), required=True)
    roster = fields.List(fields.String(), load_default=list)


class RosterExtended(Contract):
    class_id = fields.UUID(required=True)
    roster = fields.List(fields.String(), required=True)


class UsedVoucher(Contract):
    voucher_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    person_key = fields.String(required=True)
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))


class VouchersUsed(Contract):
    vouchers = fields.List(fields.Nested(UsedVoucher), required=True)


class VoucherUseReversed(UsedVoucher):
    pass
