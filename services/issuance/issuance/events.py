"""Events issuance publishes, with the schema of each payload. The catalogue in
docs/events.md is the prose version; a contract test holds both to what is emitted."""
from marshmallow import Schema, fields, validate

INSTITUTION_REGISTERED = "institution_registered"
INSTITUTION_PROJECTS_CHANGED = "institution_projects_changed"
PROJECT_REGISTERED = "project_registered"
CLASS_REGISTERED = "class_registered"
CLASS_SCHEDULE_CHANGED = "class_schedule_changed"
TEMPLATE_CREATED = "template_created"
TEMPLATE_UPDATED = "template_updated"
VOUCHERS_ISSUED = "vouchers_issued"
VOUCHERS_CLAIMED = "vouchers_claimed"
ROSTER_EXTENDED = "roster_extended"
UNCLAIMED_VOUCHERS_EXPIRED = "unclaimed_vouchers_expired"

# Claimed vouchers travel in chunks so that a roster of 100,000 is a few hundred events.
CLAIMED_CHUNK = 1000


class SiteData(Schema):
    site_id = fields.UUID(required=True)
    name = fields.String(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    radius_m = fields.Integer(required=True)


class AllowedProject(Schema):
    """A project an institution may train for, with what a class is matched on."""
    project_id = fields.UUID(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)


class InstitutionRegistered(Schema):
    """`project_ids`, and `projects` each with its `occupation` and `skill_level`: the training
    projects it may train for; none: not limited. Of its payout account only the masked number
    (`****` and the last four digits; null without an account) travels."""
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    name = fields.String(required=True)
    sites = fields.List(fields.Nested(SiteData), required=True)
    project_ids = fields.List(fields.UUID(), required=True)
    projects = fields.List(fields.Nested(AllowedProject), required=True)
    payout_account_masked = fields.String(allow_none=True, required=True)


class InstitutionProjectsChanged(Schema):
    """The training projects an institution may train for were replaced (`projects` each with its
    `occupation` and `skill_level`); an empty list: not limited."""
    institution_id = fields.UUID(required=True)
    project_ids = fields.List(fields.UUID(), required=True)
    projects = fields.List(fields.Nested(AllowedProject), required=True)


class ProjectRegistered(Schema):
    """A training project (培训项目) entered a region's catalogue."""
    project_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)
    name = fields.String(required=True)
    subsidy_standard_fen = fields.Integer(required=True)


class SessionData(Schema):
    session_id = fields.UUID(required=True)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)


class ClassSnapshot(Schema):
    """A class as other services keep it: where, when and what it teaches."""
    class_id = fields.UUID(required=True)
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)
    mode = fields.String(required=True)
    completion_threshold = fields.Float(required=True)
    site = fields.Nested(SiteData, required=True)
    sessions = fields.List(fields.Nested(SessionData), required=True)


class ClassRegistered(ClassSnapshot):
    roster = fields.List(fields.String(), required=True)


class ClassScheduleChanged(ClassSnapshot):
    """A class's schedule replaced: the whole class as class_registered carries it, without the
    roster. Sessions keep their ids; one left out was dropped. Consumers apply it only over an
    older snapshot of the class (the envelope's per-class sequence)."""


class RosterExtended(Schema):
    class_id = fields.UUID(required=True)
    roster = fields.List(fields.String(), required=True)  # person keys added to the class


class TemplateTerms(Schema):
    """A template version's terms: what every voucher issued under it carries."""
    template_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    region_code = fields.String(required=True)
    function = fields.String(required=True)
    distribution = fields.String(required=True)
    face_value_fen = fields.Integer(allow_none=True, required=True)
    subsidy_standard_fen = fields.Integer(allow_none=True, required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)
    institution_ids = fields.List(fields.UUID(), allow_none=True, required=True)
    eligible_groups = fields.List(fields.String(), allow_none=True, required=True)
    funding_source = fields.String(required=True)
    payee = fields.String(required=True)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    validity_days = fields.Integer(allow_none=True, required=True)
    one_training_per_occupation_year = fields.Boolean(required=True)
    reversal_grace_hours = fields.Integer(required=True)
    # Absent from versions made before subsidy ratios: null, 100 and false.
    subsidy_ratios = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True, metadata={
        "description": "a credit voucher's subsidy ratio in percent by target group (补贴比例); null: the default "
                       "for everyone"})
    default_subsidy_ratio_percent = fields.Integer(metadata={
        "description": "the ratio of a holder in none of the groups listed"})
    requires_certificate = fields.Boolean(metadata={
        "description": "the subsidy is paid only once the trainee's certificate is recorded"})


class TemplateCreated(Schema):
    template = fields.Nested(TemplateTerms, required=True)
    quantity = fields.Integer(required=True)


class VouchersIssued(Schema):
    batch_id = fields.UUID(required=True)
    template = fields.Nested(TemplateTerms, required=True)
    count = fields.Integer(required=True)


class Profile(Schema):
    """Who holds a voucher, as statistics may count them (``common.identity.profile``): never who."""
    age_band = fields.String(required=True)  # at claim: 16-24, 25-34, 35-44, 45-54, 55+
    gender = fields.String(required=True, validate=validate.OneOf(("M", "F")))
    home_province = fields.String(required=True)  # the province of the ID number's region, 430000
    groups = fields.List(fields.String(), required=True)  # target groups (重点群体) on record
    employer_type = fields.String(required=True)  # common.identity.EMPLOYER_TYPES, or unknown


class ClaimedVoucher(Schema):
    voucher_id = fields.UUID(required=True)
    code = fields.String(required=True)
    person_key = fields.String(required=True)
    claimed_at = fields.AwareDateTime(required=True)
    valid_until = fields.Date(required=True)  # the voucher's own last day (a template may give N days from claim)
    subsidy_ratio_percent = fields.Integer(required=True, validate=validate.Range(1, 100), metadata={
        "description": "the share of the subsidy standard a credit voucher pays its holder, decided at claim from "
                       "the holder's target groups and the version's subsidy_ratios"})
    profile = fields.Nested(Profile, required=True)


class VouchersClaimed(Schema):
    template = fields.Nested(TemplateTerms, required=True)
    vouchers = fields.List(fields.Nested(ClaimedVoucher), required=True)


class UnclaimedVouchersExpired(Schema):
    """Vouchers of a pool nobody claimed before the template version's last day."""
    template = fields.Nested(TemplateTerms, required=True)
    count = fields.Integer(required=True)
    expired_on = fields.Date(required=True)


SCHEMAS = {
    INSTITUTION_REGISTERED: InstitutionRegistered,
    INSTITUTION_PROJECTS_CHANGED: InstitutionProjectsChanged,
    PROJECT_REGISTERED: ProjectRegistered,
    CLASS_REGISTERED: ClassRegistered,
    CLASS_SCHEDULE_CHANGED: ClassScheduleChanged,
    TEMPLATE_CREATED: TemplateCreated,
    TEMPLATE_UPDATED: TemplateCreated,
    VOUCHERS_ISSUED: VouchersIssued,
    VOUCHERS_CLAIMED: VouchersClaimed,
    ROSTER_EXTENDED: RosterExtended,
    UNCLAIMED_VOUCHERS_EXPIRED: UnclaimedVouchersExpired,
}
