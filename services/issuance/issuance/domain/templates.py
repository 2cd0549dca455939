"""Voucher templates (券模板) and the kinds of voucher they make.

Function: a face-value voucher (面值券) pays its amount; a credit voucher (抵用券) only
proves the training happened and pays the project's subsidy standard; a check-in-only
voucher (Shanghai) serves attendance and is never settled. Distribution: a general
voucher (通用券) is claimed from a pool; a targeted voucher (定向券) is born claimed by a
person on a class roster.
"""
import datetime
from enum import StrEnum

from common import regions
from common.errors import InvalidInput


class Function(StrEnum):
    FACE_VALUE = "face_value"
    CREDIT = "credit"
    CHECKIN_ONLY = "checkin_only"


class Distribution(StrEnum):
    GENERAL = "general"
    TARGETED = "targeted"


def check_terms(*, region_code, function, face_value_fen, subsidy_standard_fen, valid_from, valid_until,
                quantity):
    """Refuse a template whose terms contradict each other."""
    if not regions.is_valid(region_code):
        raise InvalidInput("invalid_region", "region_code must be a 6-digit administrative division code.")
    if function == Function.FACE_VALUE and (face_value_fen is None or face_value_fen <= 0):
        raise InvalidInput("face_value_required", "A face-value voucher needs face_value_fen > 0.")
    if function == Function.CREDIT and (subsidy_standard_fen is None or subsidy_standard_fen <= 0):
        raise InvalidInput("subsidy_standard_required", "A credit voucher needs subsidy_standard_fen > 0.")
    if function == Function.CHECKIN_ONLY and (face_value_fen or subsidy_standard_fen):
        raise InvalidInput("checkin_only_pays_nothing", "A check-in-only voucher carries no amount.")
    if valid_until < valid_from:
        raise InvalidInput("invalid_validity", "valid_until must not be before valid_from.")
    if quantity < 1:
        raise InvalidInput("invalid_quantity", "quantity must be at least 1.")


def is_valid_on(template, day):
    return template.valid_from <= day <= template.valid_until


def snapshot(template):
    """The rules a voucher carries with it to other services: it keeps the terms it was
    issued under, whatever happens to the template later."""
    return {
        "template_id": str(template.id),
        "region_code": template.region_code,
        "function": template.function,
        "distribution": template.distribution,
        "face_value_fen": template.face_value_fen,
        "subsidy_standard_fen": template.subsidy_standard_fen,
        "occupation": template.occupation,
        "skill_level": template.skill_level,
        "institution_ids": [str(i) for i in template.institution_ids] if template.institution_ids else None,
        "funding_source": template.funding_source,
        "valid_from": template.valid_from.isoformat(),
        "valid_until": template.valid_until.isoformat(),
    }


def today():
    return datetime.date.today()
