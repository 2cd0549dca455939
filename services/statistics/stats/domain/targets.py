"""Annual targets (Hunan Appendix 2, Shandong Appendix 1, Wuxi's appendix): issue target =
subsidised-training plan × 50%; use target = issue target × 10%. Counts are whole vouchers."""
from decimal import Decimal

from common.errors import InvalidInput

ISSUE_SHARE_PERCENT = 50
USE_SHARE_PERCENT = 10


def derive(planned_trainees, issue_target=None):
    """The (issue, use) targets the rule gives, rounded down to whole vouchers. A table without a
    plan (Shandong's) sets the issue target itself: only its use target follows from the rule."""
    issue = issue_target if planned_trainees is None else planned_trainees * ISSUE_SHARE_PERCENT // 100
    return issue, issue * USE_SHARE_PERCENT // 100


def check(*, region_code, planned_trainees, issue_target, use_target, rule_deviation=None):
    """A published table must follow the rule; a row that does not is refused, naming it, unless
    it says why (``rule_deviation``: a pre-allocation, the source's rounding): a table is loaded
    as published, with the reason kept beside the row."""
    if rule_deviation and rule_deviation.strip():
        return
    expected_issue, expected_use = derive(planned_trainees, issue_target)
    if (issue_target, use_target) == (expected_issue, expected_use):
        return
    if planned_trainees is None:
        broken = (f"{region_code}: an issue target of {issue_target} gives a use target of {expected_use}, "
                  f"not {use_target}.")
    else:
        broken = (f"{region_code}: a plan of {planned_trainees} gives an issue target of {expected_issue} "
                  f"and a use target of {expected_use}, not {issue_target} and {use_target}.")
    raise InvalidInput("target_rule_broken", broken + " A row published otherwise says why in rule_deviation.")


def rule_deviations(row, *, unit=1):
    """How a task-table row departs from the rule, one sentence each; empty when it follows it.

    The issue target is held to plan × 50% only where the table gives a plan, the use target to
    the row's own issue target × 10%. A difference smaller than ``unit``, the step the table is
    printed in (in vouchers), is the source's rounding, not a deviation: Shandong prints 万张 to
    2 decimals (unit 100), so 6.05 万 × 10% = 0.605 万 printed 0.61 (6,100, not 6,050) follows."""
    found = []
    planned, issue, use = row["planned_trainees"], row["issue_target"], row["use_target"]
    if planned is not None and abs(issue * 100 - planned * ISSUE_SHARE_PERCENT) >= unit * 100:
        found.append(f"issue target {issue} is not the plan {planned} × {ISSUE_SHARE_PERCENT}% = "
                     f"{_share(planned, ISSUE_SHARE_PERCENT)}")
    if abs(use * 100 - issue * USE_SHARE_PERCENT) >= unit * 100:
        found.append(f"use target {use} is not the issue target {issue} × {USE_SHARE_PERCENT}% = "
                     f"{_share(issue, USE_SHARE_PERCENT)}")
    return found


def _share(count, percent):
    return Decimal(count * percent) / 100  # exact: 25000 × 50% = 12500, 41001 × 50% = 20500.5


def progress(done, target):
    return round(done / target, 4) if target else None
