"""When a claimed voucher may be used (用券/验券). Every refusal carries a reason code a
scanner can show and a sentence a person can read."""
import datetime
from zoneinfo import ZoneInfo

from common import regions
from common.errors import Conflict, Forbidden, InvalidInput, RuleViolation

# Days and years are China's: a voucher valid until 31 December is valid until midnight in Beijing.
CHINA = ZoneInfo("Asia/Shanghai")


def china_day(moment):
    """The China-time date of an aware datetime."""
    return moment.astimezone(CHINA).date()


def today():
    return china_day(datetime.datetime.now(datetime.timezone.utc))


def refuse_by_status(status):
    if status == "used":
        return Conflict("already_used", "This voucher has already been used.")
    if status == "settled":
        return Conflict("written_off", "This voucher has been settled and written off (核销); its code is void.")
    if status == "void":
        return Conflict("voided", "This voucher has been voided (作废) and can no longer be used.")
    if status == "returned":
        return Conflict("returned", "This voucher was returned (退券) by its holder; claim a new one to train.")
    if status == "expired":
        return Conflict("expired", "This voucher passed its last day unused and expired (自动失效); "
                                   "claim a new one to train.")
    if status != "claimed":
        return Conflict("not_usable", f"This voucher is {status} and cannot be used.")
    return None


def check_use(terms, *, valid_until, institution_id, training_class, day, allowed_projects=()):
    """``terms``: the voucher's template snapshot; ``valid_until``: the claimed voucher's own
    last day; ``training_class``: where it is used; ``day``: today in China;
    ``allowed_projects``: the (occupation, skill level) of the training projects the institution
    may train for, none when it is not limited."""
    if training_class.institution_id != institution_id:
        raise RuleViolation("class_not_of_institution", "This class belongs to another institution.")
    if not regions.contains(terms["region_code"], training_class.region_code):
        raise RuleViolation("outside_region", f"This voucher is for training in region {terms['region_code']}; "
                                              f"this class is in {training_class.region_code}.")
    allowed = terms.get("institution_ids")
    if allowed and str(institution_id) not in allowed:
        raise RuleViolation("institution_not_allowed", "This voucher cannot be used at this institution.")
    taught = (training_class.occupation, training_class.skill_level)
    if allowed_projects and taught not in {tuple(project) for project in allowed_projects}:
        raise RuleViolation("project_not_allowed",
                            f"This institution may not train for {taught[0]} level {taught[1]}: no training project "
                            f"of its allowed list has them; the HR bureau can add one (setInstitutionProjects).")
    if (training_class.occupation, training_class.skill_level) != (terms["occupation"], terms["skill_level"]):
        raise RuleViolation("occupation_mismatch",
                            f"This voucher pays for {terms['occupation']} level {terms['skill_level']}, "
                            f"not for this class.")
    if not datetime.date.fromisoformat(terms["valid_from"]) <= day <= valid_until:
        raise RuleViolation("voucher_expired" if day > valid_until else "voucher_not_yet_valid",
                            f"This voucher is valid from {terms['valid_from']} to {valid_until}.")


def check_once_a_year(terms, *, day, earlier_uses):
    """Wuxi §四(三): 每人每年同一职业（工种）只能持职业培训券参加一次职业技能培训. ``earlier_uses``:
    (occupation, used_at) of the holder's other used or settled vouchers; ``day``: this use's
    China-time date. A template may waive the rule (``one_training_per_occupation_year``)."""
    if not terms.get("one_training_per_occupation_year", True):
        return
    if any(occupation == terms["occupation"] and china_day(used_at).year == day.year
           for occupation, used_at in earlier_uses):
        raise RuleViolation("occupation_trained_this_year",
                            f"This person already trained in {terms['occupation']} with a voucher this year.")


def expired_on(valid_until):
    """A voucher unused on its last day expires the next day, whenever the platform notices."""
    return valid_until + datetime.timedelta(days=1)


# How far in the past an offline scanner's scan may be uploaded, and how far ahead its clock may run.
OFFLINE_MAX_AGE = datetime.timedelta(days=7)
CLOCK_SKEW = datetime.timedelta(minutes=5)


def check_scan_time(scanned_at, now):
    """An offline scan is used at the moment it was made, which must be a plausible one."""
    if scanned_at > now + CLOCK_SKEW:
        raise InvalidInput("scan_in_future", "This scan's time is ahead of the platform's clock; set the scanner's "
                                             "clock and upload again.")
    if scanned_at < now - OFFLINE_MAX_AGE:
        raise RuleViolation("scan_too_old", f"Offline scans must be uploaded within {OFFLINE_MAX_AGE.days} days.")


def grace_ends(terms, used_at):
    """Until when a use may still be undone (the template's ``reversal_grace_hours``)."""
    return used_at + datetime.timedelta(hours=terms.get("reversal_grace_hours", 24))


def check_reversal(terms, *, status, used_at, used_by, institution_id, now):
    """撤销: only a use still standing, by the institution that made it, inside the grace window."""
    if status != "used":
        raise refuse_by_status(status) if status != "claimed" else Conflict("not_used", "This voucher is not used.")
    if used_by != institution_id:
        raise Forbidden("other_institution", "Only the institution that used this voucher can reverse the use.")
    if now > grace_ends(terms, used_at):
        raise RuleViolation("reversal_window_passed",
                            f"A use of this voucher can be reversed until {grace_ends(terms, used_at).isoformat()}.")


def earlier_scan_wins(terms, *, standing_used_at, scanned_at, now):
    """Offline conflict (the same voucher used at two places): the first use by scan time wins,
    but a standing use can be displaced only inside its grace window, before money may move on it."""
    return scanned_at < standing_used_at and now <= grace_ends(terms, standing_used_at)
