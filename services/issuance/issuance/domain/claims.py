"""Who may claim a voucher (领券). Each refusal names the rule it applies."""
from common.errors import RuleViolation

from issuance.domain.templates import Distribution, is_valid_on


def check_claim(template, *, day):
    if template.distribution != Distribution.GENERAL:
        raise RuleViolation("not_claimable", "Targeted vouchers are issued to a roster and cannot be claimed.")
    if not is_valid_on(template, day):
        raise RuleViolation("template_not_valid_now",
                            f"This voucher can be claimed from {template.valid_from} to {template.valid_until}.")


def check_targeted(template, training_class):
    """A targeted voucher pays for the training its class gives: same occupation and level."""
    if (template.occupation, template.skill_level) != (training_class.occupation, training_class.skill_level):
        raise RuleViolation("occupation_mismatch",
                            f"The template pays for {template.occupation} level {template.skill_level}; this class "
                            f"trains {training_class.occupation} level {training_class.skill_level}.")


def pool_exhausted():
    return RuleViolation("pool_exhausted", "No vouchers of this template are left to claim.")


def already_claimed():
    return RuleViolation("already_claimed", "This person already holds a voucher of this template.")
