"""Certificates (证书) a trainee obtained after the training a voucher paid for (添加证书接口).

A certificate is recorded against the used voucher: only by the institution that took the
voucher or a manager of the voucher's region, only for the voucher's holder, and never
dated before the training began or after today. A certificate number names one person's
certificate, so the same (kind, number) cannot belong to two vouchers.
"""
import datetime

from common import regions
from common.errors import Conflict, Forbidden, InvalidInput, RuleViolation

# 职业技能等级证书, 职业资格证书, 特种作业操作证, 培训合格证书
KINDS = ("skill_level", "qualification", "special_operation", "training")
# Certificates are dated in China's time, whatever the server's clock says.
CHINA = datetime.timezone(datetime.timedelta(hours=8))


def today():
    return datetime.datetime.now(CHINA).date()


def _text(certificate, key, max_length):
    value = certificate.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length:
        raise InvalidInput(f"invalid_{key}", f"certificate.{key} must be text of 1 to {max_length} characters.")
    return value.strip()


def parse(certificate):
    """The certificate as stored, or InvalidInput naming the first bad field."""
    if not isinstance(certificate, dict):
        raise InvalidInput("invalid_certificate", "certificate must be an object.")
    kind = certificate.get("kind")
    if kind not in KINDS:
        raise InvalidInput("invalid_kind", f"certificate.kind must be one of {', '.join(KINDS)}.")
    level = certificate.get("skill_level")
    if level is not None and (type(level) is not int or not 1 <= level <= 5):
        raise InvalidInput("invalid_skill_level", "certificate.skill_level must be 1 to 5, or null.")
    try:
        issued_on = datetime.date.fromisoformat(certificate.get("issued_on"))
    except (TypeError, ValueError):
        raise InvalidInput("invalid_issued_on", "certificate.issued_on must be a date, YYYY-MM-DD.")
    return {"kind": kind, "number": _text(certificate, "number", 64),
            "occupation": _text(certificate, "occupation", 100), "skill_level": level, "issued_on": issued_on,
            "issuer": _text(certificate, "issuer", 200)}


def check_recorder(used, *, person_key, institution_id, region_code):
    """May this caller record a certificate of this person against this used voucher? The
    caller's authority is checked before the holder, so that nobody outside the voucher's
    region or institution can learn who holds it."""
    if not regions.contains(region_code, used.region_code):
        raise Forbidden("other_region", "This voucher belongs to a region outside yours.")
    if institution_id is not None and str(used.institution_id) != str(institution_id):
        raise Forbidden("other_institution", "This voucher was used at another institution.")
    if used.person_key != person_key:
        raise RuleViolation("not_the_holder", "The ID number is not the holder of this voucher.")


def check_issued_on(issued_on, *, used_at, on=None):
    """A certificate comes after the training the voucher paid for, and not from the future."""
    if issued_on > (on or today()):
        raise RuleViolation("certificate_in_future", "A certificate cannot be issued after today.")
    if used_at is not None and issued_on < used_at.astimezone(CHINA).date():
        raise RuleViolation("certificate_before_training",
                            "The certificate is dated before the voucher was used for the training.")


def check_existing(existing, *, voucher_id):
    """The same certificate recorded again for the same voucher is the same record; for
    another voucher its number is taken."""
    if str(existing.voucher_id) != str(voucher_id):
        raise Conflict("certificate_number_taken", "A certificate of this kind and number is already recorded.")
    return existing
