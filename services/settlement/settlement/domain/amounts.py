"""What a used voucher pays, in integer fen (never floats).

A face-value voucher (面值券) pays its face value. A credit voucher (抵用券) pays the
project's subsidy standard times the person's subsidy ratio (Shanghai §三(四)), rounded
down to the fen. A check-in-only voucher pays nothing and cannot be claimed.
"""
from common.errors import RuleViolation

FULL_RATIO_PERCENT = 100


def payable_fen(terms, *, ratio_percent=FULL_RATIO_PERCENT):
    function = terms["function"]
    if function == "face_value":
        return int(terms["face_value_fen"])
    if function == "credit":
        return int(terms["subsidy_standard_fen"]) * ratio_percent // 100
    raise RuleViolation("not_payable", "A check-in-only voucher carries no subsidy.")
