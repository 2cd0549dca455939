"""The rotating check-in code on the institution's screen: accepted for its own 20 seconds and
the next 20, then refused; made by nobody without the service's key."""
import datetime
import uuid

import pytest

from attendance.domain import rotating_code
from common.errors import RuleViolation

KEY = rotating_code.code_key("a service secret")
SESSION = str(uuid.uuid4())
START = datetime.datetime(2026, 12, 1, 1, 0, 0, tzinfo=datetime.timezone.utc)  # a period's first second


def _seconds(n):
    return START + datetime.timedelta(seconds=n)


def refusal(code, at, key=KEY):
    with pytest.raises(RuleViolation) as refused:
        rotating_code.read(key, code, at)
    return refused.value.code


def test_a_code_names_its_session_and_changes_every_twenty_seconds():
    first, until = rotating_code.make(KEY, SESSION, START)
    assert rotating_code.read(KEY, first, START) == SESSION
    assert until == START.timestamp() + 20
    assert rotating_code.make(KEY, SESSION, _seconds(19))[0] == first
    assert rotating_code.make(KEY, SESSION, _seconds(20))[0] != first


def test_a_code_is_accepted_through_the_next_period_and_refused_after():
    code, _ = rotating_code.make(KEY, SESSION, _seconds(19))
    assert rotating_code.read(KEY, code, _seconds(39)) == SESSION
    assert refusal(code, _seconds(40)) == "checkin_code_expired"  # a screenshot sent home, 21 s later
    assert refusal(code, _seconds(-1)) == "checkin_code_expired"  # from a period not yet begun


def test_a_code_made_with_another_key_or_altered_is_invalid():
    code, _ = rotating_code.make(rotating_code.code_key("another secret"), SESSION, START)
    assert refusal(code, START) == "checkin_code_invalid"
    prefix, session, period, mac = rotating_code.make(KEY, SESSION, START)[0].split(".")
    assert refusal(f"{prefix}.{session}.{int(period) + 1}.{mac}", _seconds(20)) == "checkin_code_invalid"
    other = rotating_code._b64(uuid.uuid4().bytes)
    assert refusal(f"{prefix}.{other}.{period}.{mac}", START) == "checkin_code_invalid"


@pytest.mark.parametrize("code", ["", "VTC1", "VTC1.a.b.c", "VTC2.AAAAAAAAAAAAAAAAAAAAAA.1.AAAAAAAAAAAAAA",
                                  "VTC1.AAAAAAAAAAAAAAAAAAAAAA." + "9" * 40 + ".AAAAAAAAAAAAAA", None, 7])
def test_anything_else_is_invalid(code):
    assert refusal(code, START) == "checkin_code_invalid"
