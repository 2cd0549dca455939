"""Events settlement publishes."""
from marshmallow import Schema, fields

SUBSIDY_CLAIM_SUBMITTED = "subsidy_claim_submitted"
SUBSIDY_CLAIM_APPROVED = "subsidy_claim_approved"
VOUCHERS_SETTLED = "vouchers_settled"
CERTIFICATE_ADDED = "certificate_added"


class SubsidyClaimSubmitted(Schema):
    claim_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    total_fen = fields.Integer(required=True)
    accepted = fields.Integer(required=True)
    refused = fields.Integer(required=True)


class SubsidyClaimApproved(Schema):
    claim_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    total_fen = fields.Integer(required=True)


class SettledVoucher(Schema):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    template_id = fields.String(required=True)
    region_code = fields.String(required=True)
    amount_fen = fields.Integer(required=True)


class VouchersSettled(Schema):
    """Written off (核销): the codes are void everywhere from now on. ``claim_id`` names the
    application, or the direct settlement a province reported."""
    claim_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    vouchers = fields.List(fields.Nested(SettledVoucher), required=True)


class CertificateAdded(Schema):
    """A trainee obtained a certificate after voucher-funded training. No holder and no
    certificate number: the number identifies a person."""
    certificate_id = fields.UUID(required=True)
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    institution_id = fields.UUID(required=True)
    class_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    kind = fields.String(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(allow_none=True, required=True)
    issued_on = fields.Date(required=True)


SCHEMAS = {SUBSIDY_CLAIM_SUBMITTED: SubsidyClaimSubmitted, SUBSIDY_CLAIM_APPROVED: SubsidyClaimApproved,
           VOUCHERS_SETTLED: VouchersSettled, CERTIFICATE_ADDED: CertificateAdded}
