"""Events redemption publishes."""
from marshmallow import Schema, fields, validate

VOUCHERS_USED = "vouchers_used"
VOUCHER_USE_REVERSED = "voucher_use_reversed"
VOUCHERS_VOIDED = "vouchers_voided"
VOUCHER_RETURNED = "voucher_returned"
VOUCHERS_EXPIRED = "vouchers_expired"
# Why a manager voids claimed vouchers; a code, so that no free text can carry personal data.
VOID_REASONS = ("holder_request", "ineligible", "issued_in_error", "policy_change", "other")


# Why a use was undone; a code, so that no free text can carry personal data.
REVERSAL_REASONS = ("mistaken_scan", "wrong_class", "wrong_person", "earlier_offline_scan")


class UsedVoucher(Schema):
    """One use. ``use_seq`` counts the voucher's uses (1 for the first): a use undone and made
    again elsewhere has a higher one, so a consumer that receives a use and a reversal in either
    order keeps the newest (apply a use only over a lower ``use_seq``, a reversal over its own)."""
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    person_key = fields.String(required=True)
    institution_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    device_id = fields.UUID(allow_none=True, required=True)  # the scanner, when a device scanned it
    used_at = fields.AwareDateTime(required=True)  # the scan's moment, even when uploaded later
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))
    subsidy_ratio_percent = fields.Integer(required=True, validate=validate.Range(1, 100), metadata={
        "description": "the share of the subsidy standard a credit voucher pays its holder, decided at claim"})
    profile = fields.Dict(required=True, allow_none=True, metadata={
        "description": "the holder as statistics counts them (see vouchers_claimed); null if claimed before profiles"})
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


class VouchersUsed(Schema):
    """Vouchers used (用券): by a scan, an online class, or an offline scanner's upload; a batch of
    scans travels as one event."""
    vouchers = fields.List(fields.Nested(UsedVoucher), required=True)


class VoucherUseReversed(Schema):
    """A use undone (撤销): by its institution within the template's grace window, or because an
    earlier offline scan of the voucher elsewhere won. The voucher is claimed again."""
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    person_key = fields.String(required=True)
    institution_id = fields.UUID(required=True)  # of the use undone
    class_id = fields.UUID(required=True)
    used_at = fields.AwareDateTime(required=True)
    use_seq = fields.Integer(required=True, validate=validate.Range(min=1))  # of the use undone
    reversed_at = fields.AwareDateTime(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(REVERSAL_REASONS))
    subsidy_ratio_percent = fields.Integer(required=True, validate=validate.Range(1, 100), metadata={
        "description": "the share of the subsidy standard a credit voucher pays its holder, decided at claim"})
    profile = fields.Dict(required=True, allow_none=True, metadata={
        "description": "the holder as statistics counts them (see vouchers_claimed); null if claimed before profiles"})
    template = fields.Dict(required=True)


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
    profile = fields.Dict(required=True, allow_none=True, metadata={
        "description": "the holder as statistics counts them (see vouchers_claimed); null if claimed before profiles"})
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


class ExpiredVoucher(Schema):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    expired_on = fields.Date(required=True)  # the day after its last day, China time
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


class VouchersExpired(Schema):
    """Claimed vouchers left unused past their last day expired (到期自动失效); up to 1,000 per event."""
    vouchers = fields.List(fields.Nested(ExpiredVoucher), required=True)


SCHEMAS = {VOUCHERS_USED: VouchersUsed, VOUCHER_USE_REVERSED: VoucherUseReversed, VOUCHERS_VOIDED: VouchersVoided,
           VOUCHER_RETURNED: VoucherReturned, VOUCHERS_EXPIRED: VouchersExpired}
