"""Stopping RabbitMQ in the middle of the lifecycle loses no event: once it is back, the
statistics end up exactly right and every service agrees (issue #2)."""
import time
import uuid

import pytest

import ops  # scripts/ops.py, put on sys.path by conftest
from tests import lifecycle
from tests.platform import eventually, new_region, rabbitmq


@pytest.fixture
def broker_restored():
    yield
    rabbitmq("start_app")  # whatever happened in the test, leave the broker running


def test_a_broker_outage_mid_lifecycle_loses_no_event(running_platform, gateway, clients, rpc, quiet, broker_restored):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=4)
    lifecycle.create_templates(gateway, p, pool_size=6)
    lifecycle.issue_targeted(gateway, p)
    first = lifecycle.claim(gateway, p, p.workers[0])
    second = lifecycle.claim(gateway, p, p.workers[1])

    # The claims' events may still be in the outboxes or on their way: stop the broker now.
    # A claim sent as it stops may or may not be carried out; its reply cannot come back.
    retried_claim = {"template_id": p.template_id, "id_number": p.workers[2]}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    rabbitmq("stop_app")
    try:
        refused = gateway.call("POST", "/v1/claims", p.channel, retried_claim, headers=key)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"] == "service_unavailable"
        assert refused.headers["Retry-After"]
        time.sleep(2)
    finally:
        rabbitmq("start_app")

    def retry_the_claim():
        response = gateway.call("POST", "/v1/claims", p.channel, retried_claim, headers=key)
        assert response.status_code == 201, response.text
        return response.json()
    third = eventually(retry_the_claim, timeout=60, interval=1)
    assert retry_the_claim() == third  # the same key answers the same voucher again

    for voucher in (first, second):
        lifecycle.redeem(gateway, p, voucher["code"])
    for worker in p.workers[2:]:  # the others train on their targeted vouchers
        lifecycle.use_targeted(gateway, p, worker)
    for worker in p.workers:
        lifecycle.check_in(gateway, p, worker)
    quiet()
    claim = lifecycle.submit_claim(gateway, p, [first["code"], second["code"]])
    lifecycle.approve_and_disburse(gateway, p, claim["claim_id"])

    # 6 pooled + 4 targeted; 3 + 4 claimed; 4 used (2 of them targeted); 2 settled at 800 yuan each.
    expected = {"issued": 10, "claimed": 7, "used": 4, "settled": 2, "settled_fen": 160000}

    def exact():
        stats = lifecycle.statistics(gateway, p)
        assert {k: stats[k] for k in expected} == expected
        assert rpc.issuance.region_summary(region_code=p.region) == {
            "issued": 10, "claimed": 7, "used": 4, "settled": 2, "expired": 0}
        assert rpc.redemption.region_summary(region_code=p.region) == {"claimed": 7, "used": 4, "settled": 2}
    eventually(exact, timeout=60, interval=0.5)
    quiet()
    violated = [result for result in ops.check(running_platform, p.region) if not result.ok]
    assert not violated, violated
