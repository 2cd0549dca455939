"""What redemption reads from other services' events."""
from marshmallow import INCLUDE, Schema, fields, validate

from common.events import Contract


class Terms(Schema):
    template_id = fields.String(required=True)
    version = fields.Integer(load_default=1)  # events from before template versions: the first
    region_code = fields.String(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)
    institution_ids = fields.List(fields.String(), allow_none=True, required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(required=True)

    class Meta:
        unknown = INCLUDE  # keep the whole snapshot: settlement needs its amounts


class ClaimedVoucher(Contract):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    person_key = fields.String(required=True)
    claimed_at = fields.AwareDateTime(required=True)
    valid_until = fields.Date(load_default=None)  # the voucher's own last day; missing: the template's
    # Of the subsidy standard, decided at claim; missing (claimed before ratios): the whole of it.
    subsidy_ratio_percent = fields.Integer(load_default=100, validate=validate.Range(1, 100))
    profile = fields.Dict(load_default=None)  # missing (claimed before profiles): none


class VouchersClaimed(Contract):
    template = fields.Nested(Terms, required=True)
    vouchers = fields.List(fields.Nested(ClaimedVoucher), required=True)


class ClassRegistered(Contract):
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)
    mode = fields.String(required=True)


class AllowedProject(Contract):
    project_id = fields.UUID(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)


class InstitutionProjects(Contract):
    """What redemption keeps of institution_registered and institution_projects_changed. An
    event without ``projects`` (published before institutions had projects) limits nothing."""
    institution_id = fields.UUID(required=True)
    projects = fields.List(fields.Nested(AllowedProject), load_default=list)


class SettledVoucher(Contract):
    voucher_id = fields.UUID(required=True)


class VouchersSettled(Contract):
    vouchers = fields.List(fields.Nested(SettledVoucher), required=True)
