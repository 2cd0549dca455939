"""What issuance reads from other services' events: its own contract for each."""
from marshmallow import fields, validate

from common.events import Contract


class UsedVoucher(Contract):
    voucher_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    used_at = fields.AwareDateTime(required=True)
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))


class VouchersUsed(Contract):
    vouchers = fields.List(fields.Nested(UsedVoucher), required=True)


class VoucherUseReversed(Contract):
    voucher_id = fields.UUID(required=True)
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))
    reversed_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True)


class SettledVoucher(Contract):
    voucher_id = fields.UUID(required=True)


class VouchersSettled(Contract):
    claim_id = fields.UUID(required=True)
    vouchers = fields.List(fields.Nested(SettledVoucher), required=True)


class VoidedVoucher(Contract):
    voucher_id = fields.UUID(required=True)
    voided_at = fields.AwareDateTime(required=True)


class VouchersVoided(Contract):
    reason = fields.String(required=True)
    vouchers = fields.List(fields.Nested(VoidedVoucher), required=True)


class VoucherReturned(Contract):
    voucher_id = fields.UUID(required=True)
    returned_at = fields.AwareDateTime(required=True)
    template = fields.Dict(required=True)


class ExpiredVoucher(Contract):
    voucher_id = fields.UUID(required=True)
    expired_on = fields.Date(required=True)


class VouchersExpired(Contract):
    vouchers = fields.List(fields.Nested(ExpiredVoucher), required=True)
