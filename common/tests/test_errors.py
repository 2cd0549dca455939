"""A refusal crosses an RPC with its class, code, message and typed details: the gateway
answers with exactly what the service said."""
import logging
import sys

import pytest
from nameko.exceptions import deserialize, serialize

from common.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RefusalFilter, RuleViolation


def across_rpc(error):
    return deserialize(serialize(error))


@pytest.mark.parametrize("kind", [InvalidInput, Forbidden, NotFound, Conflict, RuleViolation])
def test_a_refusal_comes_back_as_itself(kind):
    back = across_rpc(kind("some_rule", "Say what to fix."))
    assert type(back) is kind and (back.code, back.message, back.details) == ("some_rule", "Say what to fix.", None)
    assert back.as_dict() == {"error": "some_rule", "message": "Say what to fix.", "details": None}


def test_details_keep_their_types():
    details = {"lines": [{"code": "A1", "accepted": False, "reason": None, "amount_fen": 80000}], "ratio": 0.5,
               "名称": "长沙"}
    assert across_rpc(RuleViolation("no_payable_lines", "m", details)).details == details


def test_a_refusal_is_not_logged_as_a_failure_but_an_unexpected_error_is():
    def record(exc):
        try:
            raise exc
        except Exception:
            return logging.LogRecord("nameko.containers", logging.ERROR, __file__, 1, "error handling worker",
                                     (), sys.exc_info())
    assert RefusalFilter().filter(record(Conflict("already_used", "m"))) is False
    assert RefusalFilter().filter(record(ValueError("boom"))) is True
    assert isinstance(Conflict("a", "b"), DomainError)
