"""What statistics reads from other services' events."""
from marshmallow import INCLUDE, Schema, fields


class _Lenient(Schema):
    """Reads the fields it names and keeps the rest as they came: the journal keeps events whole,
    for read models still to come."""
    class Meta:
        unknown = INCLUDE


class Terms(_Lenient):
    template_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    function = fields.String(required=True)
    distribution = fields.String(required=True)


class VouchersIssued(_Lenient):
    template = fields.Nested(Terms, required=True)
    count = fields.Integer(required=True)


class VouchersClaimed(_Lenient):
    template = fields.Nested(Terms, required=True)
    vouchers = fields.List(fields.Dict(), required=True)


class UsedVoucher(_Lenient):
    template = fields.Nested(Terms, required=True)
    used_at = fields.AwareDateTime(load_default=None)  # missing: the envelope's occurred_at
    profile = fields.Dict(load_default=None, allow_none=True)  # missing: claimed before profiles


class VouchersUsed(_Lenient):
    vouchers = fields.List(fields.Nested(UsedVoucher), required=True)


class VoucherUseReversed(_Lenient):
    template = fields.Nested(Terms, required=True)
    used_at = fields.AwareDateTime(required=True)  # of the use undone: its month loses it
    profile = fields.Dict(load_default=None, allow_none=True)  # missing: claimed before profiles


class SettledVoucher(_Lenient):
    template_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    amount_fen = fields.Integer(required=True)


class VouchersSettled(_Lenient):
    vouchers = fields.List(fields.Nested(SettledVoucher), required=True)


class VoidedVoucher(_Lenient):
    template = fields.Nested(Terms, required=True)
    voided_at = fields.AwareDateTime(load_default=None)  # missing: the envelope's occurred_at


class VouchersVoided(_Lenient):
    reason = fields.String()
    vouchers = fields.List(fields.Nested(VoidedVoucher), required=True)


class VoucherReturned(_Lenient):
    template = fields.Nested(Terms, required=True)
    returned_at = fields.AwareDateTime(load_default=None)  # missing: the envelope's occurred_at
    profile = fields.Dict(load_default=None, allow_none=True)  # missing: claimed before profiles


class ExpiredVoucher(_Lenient):
    template = fields.Nested(Terms, required=True)
    expired_on = fields.Date(required=True)  # a China-time day


class VouchersExpired(_Lenient):
    vouchers = fields.List(fields.Nested(ExpiredVoucher), required=True)


class TemplateSubject(_Lenient):
    template_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)


class TemplateAnnounced(_Lenient):
    """template_created and template_updated: what a template pays for."""
    template = fields.Nested(TemplateSubject, required=True)


class InstitutionRegistered(_Lenient):
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)


class ProjectRegistered(_Lenient):
    project_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    occupation = fields.String(required=True)
    skill_level = fields.Integer(required=True)


class Checkin(_Lenient):
    institution_id = fields.UUID(required=True)
    region_code = fields.String(required=True)
    checked_in_at = fields.AwareDateTime(required=True)


class CheckinsRecorded(_Lenient):
    checkins = fields.List(fields.Nested(Checkin), required=True)


class Completion(_Lenient):
    region_code = fields.String(required=True)
    person_key = fields.String(required=True)
    completed_at = fields.AwareDateTime(required=True)


class TrainingsCompleted(_Lenient):
    completions = fields.List(fields.Nested(Completion), required=True)


class Evaluation(_Lenient):
    region_code = fields.String(required=True)
    person_key = fields.String(required=True)
    evaluated_at = fields.AwareDateTime(required=True)


class EvaluationsSubmitted(_Lenient):
    evaluations = fields.List(fields.Nested(Evaluation), required=True)


class Anomaly(_Lenient):
    kind = fields.String(required=True)
    region_code = fields.String(required=True)
    detected_at = fields.AwareDateTime(required=True)


class AnomaliesDetected(_Lenient):
    anomalies = fields.List(fields.Nested(Anomaly), required=True)
