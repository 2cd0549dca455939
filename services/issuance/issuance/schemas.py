"""What issuance reads from other services' events: its own contract for each."""
from marshmallow import EXCLUDE, Schema, fields


class VoucherUsed(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)


class SettledVoucher(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)


class VouchersSettled(Schema):
    class Meta:
        unknown = EXCLUDE
    vouchers = fields.List(fields.Nested(SettledVoucher), required=True)


class VoidedVoucher(Schema):
    class Meta:
        unknown = EXCLUDE
    voucher_id = fields.UUID(required=True)


class VouchersVoided(Schema):
    class Meta:
        unknown = EXCLUDE
    vouchers = fields.List(fields.Nested(VoidedVoucher), required=True)
