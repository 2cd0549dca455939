"""When a claimed voucher may be used (用券/验券). Every refusal carries a reason code a
scanner can show and a sentence a person can read."""
import datetime

from common.errors import Conflict, RuleViolation


def refuse_by_status(status):
    if status == "used":
        return Conflict("already_used", "This voucher has already been used.")
    if status == "settled":
        return Conflict("written_off", "This voucher has been settled and written off (核销); its code is void.")
    if status == "void":
        return Conflict("voided", "This voucher has been voided (作废) and can no longer be used.")
    if status != "claimed":
        return Conflict("not_usable", f"This voucher is {status} and cannot be used.")
    return None


def check_use(terms, *, institution_id, training_class, day):
    """``terms``: the voucher's template snapshot; ``training_class``: where it is used."""
    if training_class.institution_id != institution_id:
        raise RuleViolation("class_not_of_institution", "This class belongs to another institution.")
    allowed = terms.get("institution_ids")
    if allowed and str(institution_id) not in allowed:
        raise RuleViolation("institution_not_allowed", "This voucher cannot be used at this institution.")
    if (training_class.occupation, training_class.skill_level) != (terms["occupation"], terms["skill_level"]):
        raise RuleViolation("occupation_mismatch",
                            f"This voucher pays for {terms['occupation']} level {terms['skill_level']}, "
                            f"not for this class.")
    if not datetime.date.fromisoformat(terms["valid_from"]) <= day <= datetime.date.fromisoformat(
            terms["valid_until"]):
        raise RuleViolation("voucher_expired" if day > datetime.date.fromisoformat(terms["valid_until"])
                            else "voucher_not_yet_valid",
                            f"This voucher is valid from {terms['valid_from']} to {terms['valid_until']}.")
