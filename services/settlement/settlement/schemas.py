"""What settlement reads from other services' events."""
from marshmallow import INCLUDE, Schema, fields, validate

from common.events import Contract


class Terms(Schema):
    class Meta:
        unknown = INCLUDE
    template_id = fields.String(required=True)
    region_code = fields.String(required=True)
    function = fields.String(required=True)
    face_value_fen = fields.Integer(allow_none=True, required=True)
    subsidy_standard_fen = fields.Integer(allow_none=True, required=True)


class UsedVoucher(Contract):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    person_key = fields.String(required=True)
    institution_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    used_at = fields.AwareDateTime(required=True)
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))
    subsidy_ratio_percent = fields.Integer(load_default=100, validate=validate.Range(1, 100))
    template = fields.Nested(Terms, required=True)


class VouchersUsed(Contract):
    vouchers = fields.List(fields.Nested(UsedVoucher), required=True)


class VoucherUseReversed(UsedVoucher):
    """The use undone, as it was recorded."""


class Completion(Contract):
    class_id = fields.UUID(required=True)
    person_key = fields.String(required=True)


class TrainingsCompleted(Contract):
    completions = fields.List(fields.Nested(Completion), required=True)
