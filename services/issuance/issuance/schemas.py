"""What issuance reads from other services' events: its own contract for each."""
from marshmallow import EXCLUDE, Schema, fields, validate


class UsedVoucher(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    used_at = fields.AwareDateTime(required=True)
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))


class VouchersUsed(Schema):
    class Meta:
        unknown = EXCLUDE
    vouchers = fields.List(fields.Nested(UsedVoucher), required=True)


class VoucherUseReversed(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))
    reversed_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True)


class SettledVoucher(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)


class VouchersSettled(Schema):
    class Meta:
        unknown = EXCLUDE
    claim_id = fields.UUID(required=True)
    vouchers = fields.List(fields.Nested(SettledVoucher), required=True)


class VoidedVoucher(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)
    voided_at = fields.AwareDateTime(required=True)


class VouchersVoided(Schema):
    class Meta:
        unknown = EXCLUDE
    reason = fields.String(required=True)
    vouchers = fields.List(fields.Nested(VoidedVoucher), required=True)


class VoucherReturned(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)
    returned_at = fields.AwareDateTime(required=True)
    template = fields.Dict(required=True)


class ExpiredVoucher(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)
    expired_on = fields.Date(required=True)


class VouchersExpired(Schema):
    class Meta:
        unknown = EXCLUDE
    vouchers = fields.List(fields.Nested(ExpiredVoucher), required=True)
