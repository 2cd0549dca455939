"""What statistics reads from other services' events."""
from marshmallow import EXCLUDE, Schema, fields


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


class Terms(_Lenient):
    template_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    function = fields.String(required=True)
    distribution = fields.String(required=True)


class VouchersIssued(_Lenient):
    template = fields.Nested(Terms, required=True)
    count = fields.Integer(required=True)


class VouchersClaimed(_Lenient):
    template = fields.Nested(Terms, required=True)
    vouchers = fields.List(fields.Dict(), required=True)


class UsedVoucher(_Lenient):
    template = fields.Nested(Terms, required=True)
    used_at = fields.AwareDateTime(load_default=None)  # missing: the envelope's occurred_at


class VouchersUsed(_Lenient):
    vouchers = fields.List(fields.Nested(UsedVoucher), required=True)


class VoucherUseReversed(_Lenient):
    template = fields.Nested(Terms, required=True)
    used_at = fields.AwareDateTime(required=True)  # of the use undone: its month loses it


class SettledVoucher(_Lenient):
    template_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    amount_fen = fields.Integer(required=True)


class VouchersSettled(_Lenient):
    vouchers = fields.List(fields.Nested(SettledVoucher), required=True)


class VoidedVoucher(_Lenient):
    template = fields.Nested(Terms, required=True)
    voided_at = fields.AwareDateTime(load_default=None)  # missing: the envelope's occurred_at


class VouchersVoided(_Lenient):
    reason = fields.String()
    vouchers = fields.List(fields.Nested(VoidedVoucher), required=True)


class VoucherReturned(_Lenient):
    template = fields.Nested(Terms, required=True)
    returned_at = fields.AwareDateTime(load_default=None)  # missing: the envelope's occurred_at


class ExpiredVoucher(_Lenient):
    template = fields.Nested(Terms, required=True)
    expired_on = fields.Date(required=True)  # a China-time day


class VouchersExpired(_Lenient):
    vouchers = fields.List(fields.Nested(ExpiredVoucher), required=True)
