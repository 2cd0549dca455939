"""Property-based fuzzing of the served OpenAPI document (schemathesis): thousands of
generated requests, every one signed, and not one 5xx or response outside the document."""
import os
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from voucher_client import signed_headers

from gateway import openapi
from gateway.service import GatewayService
from tests import lifecycle
from tests.platform import new_region

# Per operation (there are 32). 150 took the whole of pytest's 300 s per test on a slow VM, and
# the timeout firing inside hypothesis surfaces as FlakyStrategyDefinition; a deeper run:
# FUZZ_EXAMPLES=500 .venv/bin/python -m pytest tests/test_fuzz.py
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 60))
ROLES = {entrypoint.operation_id: entrypoint.roles for entrypoint, _ in openapi.endpoints(GatewayService)}


class SigningSession(requests.Session):
    """Signs each request as it leaves, over the exact bytes schemathesis serialised."""

    def __init__(self, credentials):
        super().__init__()
        self.credentials = credentials

    def send(self, prepared, **kwargs):
        url = urlsplit(prepared.url)
        pairs = parse_qsl(url.query, keep_blank_values=True)
        body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
        prepared.headers.update(signed_headers(self.credentials.key_id, self.credentials.secret, prepared.method,
                                               unquote(url.path), pairs, body))
        return super().send(prepared, **kwargs)


@pytest.fixture(scope="module")
def sessions(gateway, clients):
    """One fast client per role, all in one fresh province."""
    region = new_region()
    p = lifecycle.register(gateway, clients, region, roster_size=1)
    fast = {"manager": clients("manager", region, rate_limit=100_000),
            "platform": clients("platform", region, rate_limit=100_000),
            "ministry": clients("ministry", "000000", rate_limit=100_000),
            "channel": clients("channel", region, rate_limit=100_000),
            "institution": clients("institution", region, p.institution_id, rate_limit=100_000),
            "device": clients("device", region, p.institution_id, rate_limit=100_000)}
    return {role: SigningSession(credentials) for role, credentials in fast.items()}


@pytest.mark.timeout(60 + 2 * EXAMPLES * len(ROLES) // 10)  # 0.2 s a request, whatever FUZZ_EXAMPLES says
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(gateway, sessions):
    # schemathesis's own pytest plugin does not run under pytest 9: drive it directly.
    schema = schemathesis.openapi.from_url(gateway.base_url + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(ROLES)
    sent = []
    for operation in operations:
        session = sessions[sorted(ROLES[operation.definition.raw["operationId"]])[0]]

        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        @given(case=operation.as_strategy())
        def property_holds(case):
            sent.append(operation.definition.raw["operationId"])
            case.call_and_validate(base_url=gateway.base_url, session=session,
                                   checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                           response_schema_conformance])
        property_holds()
    print(f"fuzzer: {len(sent)} requests over {len(set(sent))} operations")
    assert len(set(sent)) == len(ROLES) and len(sent) >= 10 * EXAMPLES, len(sent)
