"""Events redemption publishes."""
from marshmallow import Schema, fields

VOUCHER_USED = "voucher_used"


class VoucherUsed(Schema):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    person_key = fields.String(required=True)
    institution_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    used_at = fields.AwareDateTime(required=True)
    template = fields.Dict(required=True)  # the issuance snapshot the voucher carries


SCHEMAS = {VOUCHER_USED: VoucherUsed}
