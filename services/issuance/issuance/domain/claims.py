"""Who may claim a voucher (领券). Each refusal names the rule it applies. ``terms`` is the
snapshot of the template version the voucher was issued under."""
import datetime

from common import regions
from common.errors import RuleViolation

from issuance.domain.templates import Distribution, overlap


def check_claim(terms, *, day, channel_region, groups, trained_occupations):
    """``groups``: the target groups the person was recorded in, as (group, region) pairs;
    ``trained_occupations``: occupations the person trained in with a voucher this year."""
    if terms["distribution"] != Distribution.GENERAL:
        raise RuleViolation("not_claimable", "Targeted vouchers are issued to a roster and cannot be claimed.")
    valid_from, valid_until = (datetime.date.fromisoformat(terms[k]) for k in ("valid_from", "valid_until"))
    if not valid_from <= day <= valid_until:
        raise RuleViolation("template_not_valid_now", f"This voucher can be claimed from {valid_from} to {valid_until}.")
    if not (regions.contains(channel_region, terms["region_code"])
            or regions.contains(terms["region_code"], channel_region)):
        raise RuleViolation("outside_channel_region", "This voucher is offered in another region than your channel's.")
    eligible = terms.get("eligible_groups")
    if eligible and not any(group in eligible and overlap(region, terms["region_code"]) for group, region in groups):
        raise RuleViolation("not_in_eligible_group",
                            f"This voucher is offered only to {', '.join(eligible)}, as recorded by the HR bureau.")
    if terms.get("one_training_per_occupation_year", True) and terms["occupation"] in trained_occupations:
        raise RuleViolation("occupation_trained_this_year",
                            f"This person already trained in {terms['occupation']} with a voucher this year.")


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
