"""Events redemption publishes."""
from marshmallow import Schema, fields, validate

VOUCHER_USED = "voucher_used"
VOUCHERS_VOIDED = "vouchers_voided"
VOUCHER_RETURNED = "voucher_returned"
VOUCHERS_EXPIRED = "vouchers_expired"
# Why a manager voids claimed vouchers; a code, so that no free text can carry personal data.
VOID_REASONS = ("holder_request", "ineligible", "issued_in_error", "policy_change", "other")


class VoucherUsed(Schema):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    person_key = fields.String(required=True)
    institution_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    used_at = fields.AwareDateTime(required=True)
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


class VoidedVoucher(Schema):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    voided_at = fields.AwareDateTime(required=True)
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


class VouchersVoided(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(VOID_REASONS))
    vouchers = fields.List(fields.Nested(VoidedVoucher), required=True)


class VoucherReturned(Schema):
    """The holder gave a claimed voucher back (退券): it goes back to its template's pool."""
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    returned_at = fields.AwareDateTime(required=True)
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


class ExpiredVoucher(Schema):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    expired_on = fields.Date(required=True)  # the day after its last day, China time
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


class VouchersExpired(Schema):
    """Claimed vouchers left unused past their last day expired (到期自动失效); up to 1,000 per event."""
    vouchers = fields.List(fields.Nested(ExpiredVoucher), required=True)


SCHEMAS = {VOUCHER_USED: VoucherUsed, VOUCHERS_VOIDED: VouchersVoided, VOUCHER_RETURNED: VoucherReturned,
           VOUCHERS_EXPIRED: VouchersExpired}
