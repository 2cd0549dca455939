"""Annual targets (Hunan Appendix 2, Shandong Appendix 1): issue target = subsidised-training
plan × 50%; use target = issue target × 10%. Counts are whole vouchers."""
from common.errors import InvalidInput

ISSUE_SHARE_PERCENT = 50
USE_SHARE_PERCENT = 10


def derive(planned_trainees):
    issue = planned_trainees * ISSUE_SHARE_PERCENT // 100
    return issue, issue * USE_SHARE_PERCENT // 100


def check(*, region_code, planned_trainees, issue_target, use_target):
    """A published table must follow the rule; a row that does not is refused, naming it."""
    if (issue_target, use_target) != derive(planned_trainees):
        expected_issue, expected_use = derive(planned_trainees)
        raise InvalidInput("target_rule_broken",
                           f"{region_code}: a plan of {planned_trainees} gives an issue target of {expected_issue} "
                           f"and a use target of {expected_use}, not {issue_target} and {use_target}.")


def progress(done, target):
    return round(done / target, 4) if target else None
