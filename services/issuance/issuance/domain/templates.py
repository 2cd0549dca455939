"""Voucher templates (券模板) and the kinds of voucher they make.

Function: a face-value voucher (面值券) pays its amount; a credit voucher (抵用券) only
proves the training happened and pays the project's subsidy standard; a check-in-only
voucher (Shanghai) serves attendance and is never settled. Distribution: a general
voucher (通用券) is claimed from a pool; a targeted voucher (定向券) is born claimed by a
person on a class roster.
"""
import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from common import regions
from common.errors import InvalidInput

CHINA = ZoneInfo("Asia/Shanghai")
# Target groups (重点群体) a template may be offered to (Hunan notice §一(一); Wuxi §三).
GROUPS = ("unemployed",           # 登记失业人员
          "graduate",             # 高校毕业生
          "school_leaver",        # 城乡未继续升学初高中毕业生
          "retired_fisher",       # 退捕渔民
          "poverty_alleviated",   # 脱贫劳动力
          "rural_migrant",        # 农村转移劳动力
          "enterprise_employee",  # 企业职工
          "veteran",              # 退役军人
          "disabled")             # 残疾人
# Who is paid the subsidy (Shanghai §三(四)): the person's e-card bank account, the institution, the employer.
PAYEES = ("individual", "institution", "enterprise")
FULL_RATIO_PERCENT = 100  # the whole subsidy standard


class Function(StrEnum):
    FACE_VALUE = "face_value"
    CREDIT = "credit"
    CHECKIN_ONLY = "checkin_only"


class Distribution(StrEnum):
    GENERAL = "general"
    TARGETED = "targeted"


def check_terms(*, region_code, function, face_value_fen, subsidy_standard_fen, valid_from, valid_until,
                quantity, validity_days=None, eligible_groups=None, payee="institution", subsidy_ratios=None,
                default_subsidy_ratio_percent=FULL_RATIO_PERCENT):
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
    if validity_days is not None and validity_days < 1:
        raise InvalidInput("invalid_validity", "validity_days, when given, must be at least 1.")
    unknown = sorted(set(eligible_groups or ()) - set(GROUPS))
    if unknown:
        raise InvalidInput("unknown_group", f"Unknown target groups {unknown}; known: {', '.join(GROUPS)}.")
    if payee not in PAYEES:
        raise InvalidInput("unknown_payee", f"payee must be one of {', '.join(PAYEES)}.")
    if function == Function.CHECKIN_ONLY and payee != "institution":
        raise InvalidInput("checkin_only_pays_nothing", "A check-in-only voucher pays nobody.")
    _check_ratios(function, subsidy_ratios or {}, default_subsidy_ratio_percent)


def _check_ratios(function, ratios, default_percent):
    """Subsidy ratios (补贴比例) scale a subsidy standard: only a credit voucher has one to scale."""
    unknown = sorted(set(ratios) - set(GROUPS))
    if unknown:
        raise InvalidInput("unknown_group", f"Unknown target groups {unknown}; known: {', '.join(GROUPS)}.")
    if function != Function.CREDIT and (ratios or default_percent != FULL_RATIO_PERCENT):
        raise InvalidInput("ratio_for_credit_only", f"Subsidy ratios scale a credit voucher's subsidy standard; "
                                                    f"a {function} voucher has none.")
    for percent in [*ratios.values(), default_percent]:
        if not (type(percent) is int and 1 <= percent <= FULL_RATIO_PERCENT):
            raise InvalidInput("invalid_subsidy_ratio", "A subsidy ratio is a whole percent from 1 to 100.")


def overlap(a, b):
    """A person's group recorded in region ``a`` counts for a template of region ``b`` when either
    contains the other: a province's record for a city's template, a district's for its city's."""
    return regions.contains(a, b) or regions.contains(b, a)


def subsidy_ratio_percent(terms, groups):
    """The share of the subsidy standard a credit voucher pays its holder (补贴对象享受的补贴比例,
    Shanghai §三(四)), decided at claim: the best ratio of the holder's groups the template lists,
    recorded in a region overlapping the template's; anyone else the default, and 100 under a
    version made before templates had ratios. ``groups``: (group, region) pairs, as for a claim."""
    ratios = terms.get("subsidy_ratios") or {}
    return max((ratios[group] for group, region in groups if group in ratios and overlap(region, terms["region_code"])),
               default=terms.get("default_subsidy_ratio_percent") or FULL_RATIO_PERCENT)


def snapshot(template):
    """The rules a voucher carries with it to other services: it keeps the terms of the
    version it was issued under, whatever happens to the template later."""
    return {
        "template_id": str(template.id),
        "version": template.version,
        "region_code": template.region_code,
        "function": template.function,
        "distribution": template.distribution,
        "face_value_fen": template.face_value_fen,
        "subsidy_standard_fen": template.subsidy_standard_fen,
        "occupation": template.occupation,
        "skill_level": template.skill_level,
        "institution_ids": [str(i) for i in template.institution_ids] if template.institution_ids else None,
        "eligible_groups": list(template.eligible_groups) if template.eligible_groups else None,
        "funding_source": template.funding_source,
        "payee": template.payee,
        "valid_from": template.valid_from.isoformat(),
        "valid_until": template.valid_until.isoformat(),
        "validity_days": template.validity_days,
        "one_training_per_occupation_year": template.one_training_per_occupation_year,
        "reversal_grace_hours": template.reversal_grace_hours,
        "subsidy_ratios": dict(template.subsidy_ratios) if template.subsidy_ratios else None,
        "default_subsidy_ratio_percent": template.default_subsidy_ratio_percent,
        "requires_certificate": template.requires_certificate,
    }


def voucher_valid_until(terms, claimed_on):
    """A claimed voucher's last day: N days from its claim when the template says so,
    else the template's own last day."""
    if terms.get("validity_days"):
        return claimed_on + datetime.timedelta(days=terms["validity_days"] - 1)
    return datetime.date.fromisoformat(terms["valid_until"])


def today():
    """Today in China: validity windows are Beijing-time calendar days."""
    return datetime.datetime.now(CHINA).date()
