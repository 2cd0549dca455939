"""Events redemption publishes."""
from marshmallow import Schema, fields, validate

VOUCHER_USED = "voucher_used"
VOUCHERS_VOIDED = "vouchers_voided"
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


SCHEMAS = {VOUCHER_USED: VoucherUsed, VOUCHERS_VOIDED: VouchersVoided}
