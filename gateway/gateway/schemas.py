"""What crosses the gateway: every request body is loaded through one of these before
any service sees it. Amounts are integer fen; times carry a timezone."""
import datetime
import re

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from common import credit_codes, evaluations, identity
from common.errors import InvalidInput

# ^…$ for the OpenAPI document (ECMAScript); the exact length refuses the newline that $ lets through.
REGION_CODE = [validate.Length(equal=6, error="Must be a 6-digit region code."),
               validate.Regexp(r"^[0-9]{6}$", error="Must be a 6-digit region code.")]
REGION = fields.String(required=True, validate=REGION_CODE)
NAME = dict(required=True, validate=validate.Length(min=1, max=200))
# Unified social credit code (统一社会信用代码): 18 characters of digits and capitals without I, O, S, V, Z.
CREDIT_CODE = validate.Regexp(r"^[0-9A-HJ-NPQRTUWXY]{18}$", error="Must be an 18-character unified social credit code.")
ID_NUMBER = fields.String(required=True, validate=validate.Length(equal=18, error="An ID number has 18 characters."))


class Moment(fields.AwareDateTime):
    """A time with its offset, kept in UTC: any offset ISO 8601 allows (up to ±23:59), while
    PostgreSQL refuses offsets beyond ±15:59."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs).astimezone(datetime.timezone.utc)
        except OverflowError:
            raise ValidationError("Not a time the platform can keep.")


class StrictSchema(Schema):
    """Unknown fields are an error: a typo in a field name must not pass silently. Text with
    a NUL character is refused: PostgreSQL cannot store it, and no real name or code has one."""

    @pre_load
    def _no_nul(self, data, **kwargs):
        if _has_nul(data):
            raise ValidationError("Text must not contain NUL (\\u0000) characters.")
        return data


def _has_nul(value):
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class SiteIn(StrictSchema):
    name = fields.String(**NAME)
    address = fields.String(required=True, validate=validate.Length(min=1, max=500))
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    radius_m = fields.Integer(required=True, validate=validate.Range(10, 5000))


def _fullmatch(pattern, error):
    """A validator for the whole value (``Regexp``'s ``$`` lets a final newline through); the
    pattern goes into the OpenAPI document through the field's metadata."""
    compiled = re.compile(pattern)

    def check(value):
        if not compiled.fullmatch(value):
            raise ValidationError(error)
    return check


ACCOUNT_NUMBER = "[0-9]{8,30}"
# GB/T 6565 occupation code (职业分类大典), e.g. 6-31-01-03 (electrician); a work type (工种) may add two digits.
OCCUPATION_CODE = "[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}(-[0-9]{2})?"


class PayoutAccountIn(StrictSchema):
    """Where the institution's subsidies are paid. The number is kept encrypted and shown only
    masked (its last four digits); it never leaves the platform in an event."""
    bank_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    account_name = fields.String(**NAME)
    account_number = fields.String(required=True, validate=_fullmatch(ACCOUNT_NUMBER, "An account number has 8 to "
                                                                                      "30 digits, without spaces."),
                                   metadata={"pattern": f"^{ACCOUNT_NUMBER}$"})


class InstitutionIn(StrictSchema):
    region_code = REGION
    name = fields.String(**NAME)
    credit_code = fields.String(required=True, validate=CREDIT_CODE)
    sites = fields.List(fields.Nested(SiteIn), required=True, validate=validate.Length(min=1, max=100))
    payout_account = fields.Nested(PayoutAccountIn, load_default=None)
    project_ids = fields.List(fields.UUID(), load_default=list, validate=validate.Length(max=1000), metadata={
        "description": "the training projects it may train for, of its region or one containing or inside it; "
                       "none: any"})

    @validates("credit_code")
    def _credit_code_check(self, value, **kwargs):
        """The check character (GB 32100), once CREDIT_CODE has passed the shape."""
        try:
            credit_codes.validate(value)
        except InvalidInput as refusal:
            raise ValidationError(refusal.message)


class InstitutionsBatchIn(StrictSchema):
    """Rows are checked one by one (``InstitutionIn``), so that a bad row is refused alone."""
    institutions = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))


class InstitutionProjectsIn(StrictSchema):
    project_ids = fields.List(fields.UUID(), required=True, validate=validate.Length(max=1000), metadata={
        "description": "the training projects the institution may train for, replacing the list it had; "
                       "an empty list lifts the limit"})


class ProjectIn(StrictSchema):
    """A training project (培训项目): an occupation at a skill level, with its subsidy standard."""
    region_code = REGION
    occupation = fields.String(required=True, validate=_fullmatch(OCCUPATION_CODE, "Must be a GB/T 6565 occupation "
                                                                                   "code such as 6-31-01-03."),
                               metadata={"pattern": f"^{OCCUPATION_CODE}$"})
    skill_level = fields.Integer(required=True, validate=validate.Range(1, 5))
    name = fields.String(**NAME)
    subsidy_standard_fen = fields.Integer(required=True, validate=validate.Range(1, 100_000_000))


class ProjectsBatchIn(StrictSchema):
    """Rows are checked one by one (``ProjectIn``), so that a bad row is refused alone."""
    projects = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))


class ProjectsQuery(StrictSchema):
    region_code = fields.String(load_default=None, validate=REGION_CODE)
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class SessionIn(StrictSchema):
    starts_at = Moment(required=True)
    ends_at = Moment(required=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError("A session must end after it starts.", "ends_at")


class ScheduledSessionIn(SessionIn):
    session_id = fields.UUID(load_default=None, metadata={"description": "an existing session to keep; none: new"})


class ClassIn(StrictSchema):
    institution_id = fields.UUID(load_default=None)
    site_id = fields.UUID(required=True)
    name = fields.String(**NAME)
    occupation = fields.String(required=True, validate=validate.Length(min=1, max=100))
    skill_level = fields.Integer(required=True, validate=validate.Range(1, 5))
    mode = fields.String(load_default="offline", validate=validate.OneOf(["offline", "online"]))
    completion_threshold = fields.Float(load_default=0.8, validate=validate.Range(0.01, 1.0))
    sessions = fields.List(fields.Nested(SessionIn), required=True, validate=validate.Length(min=1, max=500))
    roster = fields.List(ID_NUMBER, load_default=list, validate=validate.Length(max=5000))


def _person_name(value):
    if not re.fullmatch(r"[^\x00-\x1f\x7f0-9]+", value):
        raise ValidationError("A name has no digits and no control characters.")


EMPLOYER_TYPE = fields.String(load_default=None, validate=validate.OneOf(identity.EMPLOYER_TYPES), metadata={
    "description": "who the worker works for (单位性质), counted by statistics; leave out if not known"})


class TraineeIn(StrictSchema):
    id_number = ID_NUMBER
    name = fields.String(load_default=None, validate=[validate.Length(min=1, max=50), _person_name])
    employer_type = EMPLOYER_TYPE


class TraineesBatchIn(StrictSchema):
    """Rows are checked one by one (``TraineeIn``), so that a bad row is refused alone."""
    trainees = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))


# Target groups (重点群体) a template may be offered to, and who is paid: issuance's lists.
GROUPS = ["unemployed", "graduate", "school_leaver", "retired_fisher", "poverty_alleviated", "rural_migrant",
          "enterprise_employee", "veteran", "disabled"]
PAYEES = ["individual", "institution", "enterprise"]
AMOUNT = dict(load_default=None, validate=validate.Range(1, 100_000_000))


PERCENT = fields.Integer(validate=validate.Range(1, 100))


class TemplateIn(StrictSchema):
    region_code = REGION
    name = fields.String(**NAME)
    function = fields.String(required=True, validate=validate.OneOf(["face_value", "credit", "checkin_only"]))
    distribution = fields.String(required=True, validate=validate.OneOf(["general", "targeted"]))
    face_value_fen = fields.Integer(**AMOUNT)
    subsidy_standard_fen = fields.Integer(**AMOUNT)
    occupation = fields.String(required=True, validate=validate.Length(min=1, max=100))
    skill_level = fields.Integer(required=True, validate=validate.Range(1, 5))
    institution_ids = fields.List(fields.UUID(), load_default=None, validate=validate.Length(max=1000))
    eligible_groups = fields.List(fields.String(validate=validate.OneOf(GROUPS)), load_default=None,
                                  validate=validate.Length(max=len(GROUPS)),
                                  metadata={"description": "only these target groups may claim; none: anyone"})
    funding_source = fields.String(required=True, validate=validate.Length(min=1, max=100))
    payee = fields.String(load_default="institution", validate=validate.OneOf(PAYEES))
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(required=True)
    validity_days = fields.Integer(load_default=None, validate=validate.Range(1, 3660), metadata={
        "description": "a claimed voucher is valid this many days from its claim; none: until valid_until"})
    one_training_per_occupation_year = fields.Boolean(load_default=True, metadata={
        "description": "refuse a claim by someone who trained in this occupation with a voucher this year"})
    reversal_grace_hours = fields.Integer(load_default=24, validate=validate.Range(0, 720), metadata={
        "description": "how long after a use the institution may reverse it"})
    subsidy_ratios = fields.Dict(keys=fields.String(validate=validate.OneOf(GROUPS)), values=PERCENT,
                                 load_default=None, metadata={
        "description": "a credit voucher pays the subsidy standard times its holder's ratio, in percent, by target "
                       "group (the holder's best); anyone else gets default_subsidy_ratio_percent"})
    default_subsidy_ratio_percent = fields.Integer(load_default=100, validate=validate.Range(1, 100))
    requires_certificate = fields.Boolean(load_default=False, metadata={
        "description": "the subsidy is paid only once the trainee's certificate (the assessment result) is recorded"})
    quantity = fields.Integer(required=True, validate=validate.Range(1, 100_000_000))


class TemplateUpdate(StrictSchema):
    """A new version of a template: only the fields given change."""
    name = fields.String(validate=validate.Length(min=1, max=200))
    face_value_fen = fields.Integer(allow_none=True, validate=validate.Range(1, 100_000_000))
    subsidy_standard_fen = fields.Integer(allow_none=True, validate=validate.Range(1, 100_000_000))
    institution_ids = fields.List(fields.UUID(), allow_none=True, validate=validate.Length(max=1000))
    eligible_groups = fields.List(fields.String(validate=validate.OneOf(GROUPS)), allow_none=True,
                                  validate=validate.Length(max=len(GROUPS)))
    funding_source = fields.String(validate=validate.Length(min=1, max=100))
    payee = fields.String(validate=validate.OneOf(PAYEES))
    valid_from = fields.Date()
    valid_until = fields.Date()
    validity_days = fields.Integer(allow_none=True, validate=validate.Range(1, 3660))
    one_training_per_occupation_year = fields.Boolean()
    reversal_grace_hours = fields.Integer(validate=validate.Range(0, 720))
    subsidy_ratios = fields.Dict(keys=fields.String(validate=validate.OneOf(GROUPS)), values=PERCENT, allow_none=True)
    default_subsidy_ratio_percent = fields.Integer(validate=validate.Range(1, 100))
    requires_certificate = fields.Boolean()
    quantity = fields.Integer(validate=validate.Range(1, 100_000_000))


class EligibilityIn(StrictSchema):
    """People a bureau records in a target group; rows are checked one by one (``TraineeIn``)."""
    group = fields.String(required=True, validate=validate.OneOf(GROUPS))
    region_code = REGION
    persons = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))


class PoolIn(StrictSchema):
    quantity = fields.Integer(required=True, validate=validate.Range(1, 100_000))


class TargetedIn(StrictSchema):
    template_id = fields.UUID(required=True)


class IssuanceJobIn(StrictSchema):
    """A pool (``quantity``) of a general template, or targeted vouchers for ``class_ids``."""
    template_id = fields.UUID(required=True)
    quantity = fields.Integer(validate=validate.Range(1, 10_000_000))
    class_ids = fields.List(fields.UUID(), validate=validate.Length(1, 1000))

    @validates_schema
    def _one_kind(self, data, **kwargs):
        if ("quantity" in data) == ("class_ids" in data):
            raise ValidationError("Give either quantity (a pool) or class_ids (targeted vouchers), not both.",
                                  "quantity")


class ClaimIn(StrictSchema):
    template_id = fields.UUID(required=True)
    id_number = ID_NUMBER
    employer_type = EMPLOYER_TYPE


QR_PAYLOAD = dict(validate=validate.Length(min=13, max=512),
                  metadata={"description": "the text the scanner read from the voucher's QR code (VT1.…)"})
CODE = dict(validate=validate.Length(min=13, max=32),
            metadata={"description": "the voucher's unique code, typed from the print (check character included)"})


class ScannedIn(StrictSchema):
    """What a scanner read: the signed QR payload, or the code typed by hand; one of the two."""
    qr = fields.String(**QR_PAYLOAD)
    code = fields.String(**CODE)

    @validates_schema
    def _one_of(self, data, **kwargs):
        if ("qr" in data) == ("code" in data):
            raise ValidationError("Give either qr (the scanned payload) or code (typed by hand), not both.", "qr")


class RedemptionIn(ScannedIn):
    class_id = fields.UUID(required=True)


class OnlineRedemptionIn(StrictSchema):
    code = fields.String(required=True, **CODE)
    class_id = fields.UUID(required=True)
    id_number = ID_NUMBER  # the holder's, as the e-card channel authenticated them


class OfflineScanIn(StrictSchema):
    sequence = fields.Integer(required=True, validate=validate.Range(0, 2**53),
                              metadata={"description": "the device's own number for this scan, never reused"})
    qr = fields.String(required=True, **QR_PAYLOAD)
    class_id = fields.UUID(required=True)
    scanned_at = Moment(required=True)


class OfflineBatchIn(StrictSchema):
    scans = fields.List(fields.Nested(OfflineScanIn), required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _distinct(self, data, **kwargs):
        sequences = [scan["sequence"] for scan in data.get("scans", ())]
        if len(set(sequences)) != len(sequences):
            raise ValidationError("Each scan needs its own sequence number.", "scans")


REVERSAL_REASONS = ["mistaken_scan", "wrong_class", "wrong_person"]


class ReversalIn(StrictSchema):
    reason = fields.String(required=True, validate=validate.OneOf(REVERSAL_REASONS))


class VoucherQrIn(StrictSchema):
    id_number = ID_NUMBER  # the holder's, as the e-card channel authenticated them
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "png", "svg"]))


class DeviceIn(StrictSchema):
    name = fields.String(**NAME)


class PageQuery(StrictSchema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class ConflictsQuery(PageQuery):
    region_code = fields.String(load_default=None, validate=REGION_CODE)


class ReturnIn(StrictSchema):
    id_number = ID_NUMBER  # the holder's, as the e-card channel authenticated them


DEVICE = dict(load_default=None, validate=validate.Length(min=8, max=64), metadata={
    "description": "the app's own stable identifier of the phone (a hash, never the IMEI or a number): one phone "
                   "checking in several trainees is an anomaly for the managers"})


class CheckinIn(StrictSchema):
    class_id = fields.UUID(required=True)
    id_number = ID_NUMBER
    latitude = fields.Float(required=True, validate=validate.Range(-90, 90))
    longitude = fields.Float(required=True, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(required=True, validate=validate.Range(0, 10_000))
    device = fields.String(**DEVICE)


class CodeCheckinIn(StrictSchema):
    class_id = fields.UUID(required=True)
    id_number = ID_NUMBER
    code = fields.String(required=True, validate=validate.Length(min=10, max=200),
                         metadata={"description": "the rotating code read from the institution's screen (VTC1.…)"})
    device = fields.String(**DEVICE)


class OnlineCheckinIn(StrictSchema):
    class_id = fields.UUID(required=True)
    id_number = ID_NUMBER
    device = fields.String(**DEVICE)


class CardCheckinIn(StrictSchema):
    class_id = fields.UUID(required=True)
    id_number = ID_NUMBER  # read from the trainee's social-security card by the institution's scanner


class AttendanceQueryIn(StrictSchema):
    class_id = fields.UUID(required=True)
    id_number = ID_NUMBER


class ScheduleIn(StrictSchema):
    sessions = fields.List(fields.Nested(ScheduledSessionIn), required=True, validate=validate.Length(min=1, max=500))


class CodeQuery(StrictSchema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "png", "svg"]))


class AnomaliesQuery(PageQuery):
    region_code = fields.String(load_default=None, validate=REGION_CODE)
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "confirmed", "dismissed"]))
    kind = fields.String(load_default=None, validate=validate.OneOf(
        ["no_checkins", "shared_device", "impossible_travel", "same_spot_far_away", "outside_schedule"]))


class AnomalyDecisionIn(StrictSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["confirmed", "dismissed"]))
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500),
                           metadata={"description": "what the bureau found; no names or ID numbers"})


LINE_REJECTIONS = ["attendance_doubtful", "assessment_failed", "documents_missing", "duplicate_trainee", "other"]


class SubsidyClaimIn(StrictSchema):
    codes = fields.List(fields.String(validate=validate.Length(min=1, max=32)), required=True,
                        validate=validate.Length(min=1, max=10_000))


class LineRejectionIn(StrictSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    reason = fields.String(required=True, validate=validate.OneOf(LINE_REJECTIONS))


class ApprovalIn(StrictSchema):
    rejected_lines = fields.List(fields.Nested(LineRejectionIn), load_default=list,
                                 validate=validate.Length(max=10_000), metadata={
        "description": "the lines the approver refuses, each with its reason; the rest are approved"})


class RejectionIn(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500),
                           metadata={"description": "why, for the institution; no names or ID numbers"})


class AllocationIn(StrictSchema):
    region_code = REGION
    funding_source = fields.String(required=True, validate=validate.Length(min=1, max=100))
    amount_fen = fields.Integer(required=True, validate=validate.Range(1, 10 ** 14))


class PoolsQuery(StrictSchema):
    region_code = fields.String(load_default=None, validate=REGION_CODE)


class PaymentResultIn(StrictSchema):
    instruction_id = fields.UUID(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["paid", "failed"]))
    bank_reference = fields.String(load_default=None, validate=validate.Length(max=100))


class PaymentResultsIn(StrictSchema):
    results = fields.List(fields.Nested(PaymentResultIn), required=True, validate=validate.Length(min=1, max=10_000))


class ReconciliationQuery(StrictSchema):
    date_from = fields.Date(required=True, data_key="from")
    date_to = fields.Date(required=True, data_key="to")

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data["date_to"] < data["date_from"]:
            raise ValidationError("to must not be before from.", "to")
        if (data["date_to"] - data["date_from"]).days > 400:
            raise ValidationError("A reconciliation covers at most 400 days.", "to")


class TargetRow(StrictSchema):
    region_code = REGION
    name = fields.String(**NAME)
    # null where the table gives no plan (Shandong's: issue and use targets only)
    planned_trainees = fields.Integer(required=True, allow_none=True, validate=validate.Range(0, 100_000_000))
    issue_target = fields.Integer(required=True, validate=validate.Range(0, 100_000_000))
    use_target = fields.Integer(required=True, validate=validate.Range(0, 100_000_000))
    # why a published row breaks the 50% / 10% rule (a pre-allocation, the source's rounding)
    rule_deviation = fields.String(load_default=None, validate=validate.Length(max=200))


class TargetsIn(StrictSchema):
    year = fields.Integer(required=True, validate=validate.Range(2020, 2100))
    targets = fields.List(fields.Nested(TargetRow), required=True, validate=validate.Length(min=1, max=5000))


class TemplatesQuery(StrictSchema):
    region_code = fields.String(load_default=None, validate=REGION_CODE)
    distribution = fields.String(load_default=None, validate=validate.OneOf(["general", "targeted"]))
    function = fields.String(load_default=None, validate=validate.OneOf(["face_value", "credit", "checkin_only"]))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class HolderQuery(StrictSchema):
    id_number = ID_NUMBER
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class QrIn(StrictSchema):
    qr = fields.String(required=True, validate=validate.Length(min=13, max=512),
                       metadata={"description": "the text the scanner read from the voucher's QR code"})


VOUCHER_CODES = fields.List(fields.String(validate=validate.Length(min=1, max=32)), required=True,
                            validate=validate.Length(min=1, max=1000))
# The reason travels in redemption's vouchers_voided event: a code, so no free text can carry a name.
VOID_REASONS = ["holder_request", "ineligible", "issued_in_error", "policy_change", "other"]


class VoidIn(StrictSchema):
    codes = VOUCHER_CODES
    reason = fields.String(required=True, validate=validate.OneOf(VOID_REASONS))


class SettlementIn(StrictSchema):
    institution_id = fields.UUID(required=True)
    codes = VOUCHER_CODES
    payment_reference = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "the province's own payment or voucher-of-account number"})


class CertificateData(StrictSchema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(required=True, validate=validate.OneOf(
        ["skill_level", "qualification", "special_operation", "training"]))
    occupation = fields.String(required=True, validate=validate.Length(min=1, max=100))
    skill_level = fields.Integer(load_default=None, validate=validate.Range(1, 5))
    issued_on = fields.Date(required=True)
    issuer = fields.String(required=True, validate=validate.Length(min=1, max=200))


class CertificateIn(StrictSchema):
    voucher_code = fields.String(required=True, validate=validate.Length(min=13, max=32))
    id_number = ID_NUMBER
    certificate = fields.Nested(CertificateData, required=True)


MONTH = dict(validate=validate.Regexp(r"^[0-9]{4}-[0-9]{2}$", error="Give the month as YYYY-MM."))
YEAR = dict(validate=validate.Range(2020, 2100))


class MonthlyReportQuery(StrictSchema):
    month = fields.String(required=True, **MONTH)
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "xlsx", "csv", "png")), metadata={
        "description": "json; xlsx, the workbook (月调度 sheet and 说明); csv, its rows; png, the progress chart"})


class QuarterlyQuery(StrictSchema):
    year = fields.Integer(required=True, **YEAR)
    quarter = fields.Integer(required=True, validate=validate.Range(1, 4))


class DemographicsQuery(StrictSchema):
    year = fields.Integer(required=True, **YEAR)
    month = fields.String(load_default=None, **MONTH)


COUNT = fields.Integer(load_default=None, validate=validate.Range(0, 2_000_000_000))
YES_NO = fields.Boolean(load_default=None)


class RegionFactsRow(StrictSchema):
    """What a bureau reports of its region for a month (附件 3's basic indicators and the totals no
    event carries); a figure left out keeps the one reported before."""
    region_code = REGION
    working_group = YES_NO  # 工作机制: 是否已成立职业培训券专项工作组
    policy_issued = YES_NO  # 政策文件: 是否已印发职业培训券有关文件
    promotion_plan = YES_NO  # 宣传推广: 是否已配套制定宣传推广方案
    e_cards_issued = COUNT  # 电子社保卡签发数 (签发人数)
    resident_population = COUNT  # 常住人口
    institutions_total = COUNT  # 培训机构和培训平台总数, on the platform or not
    ecard_channels = COUNT  # 电子社保卡签发渠道数
    voucher_channels = COUNT  # 开通职业培训券的渠道数


class RegionFactsIn(StrictSchema):
    month = fields.String(required=True, **MONTH)
    regions = fields.List(fields.Nested(RegionFactsRow), required=True, validate=validate.Length(min=1, max=5000))


class EvaluationIn(StrictSchema):
    """A trainee rates a class they completed (培训评价): 1 to 5, and what stood out, as codes."""
    class_id = fields.UUID(required=True)
    id_number = ID_NUMBER
    rating = fields.Integer(required=True, validate=validate.Range(1, 5))
    aspects = fields.List(fields.String(validate=validate.OneOf(evaluations.ASPECTS)), load_default=list,
                          validate=validate.Length(max=len(evaluations.ASPECTS)))


class StatisticsQuery(StrictSchema):
    year = fields.Integer(load_default=None, **YEAR)


class ErrorOut(Schema):
    error = fields.String(required=True, metadata={"description": "machine-readable code"})
    message = fields.String(required=True, metadata={"description": "what to fix, for a person"})
    details = fields.Raw(allow_none=True)
