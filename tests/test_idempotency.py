"""A retried request with the same Idempotency-Key returns the first result and never
repeats the effect; the same key with a different request is refused."""
import uuid

from tests import lifecycle
from tests.platform import new_region


def test_a_retried_claim_returns_the_first_voucher_and_claims_once(gateway, clients, rpc, quiet):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p, pool_size=3)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"template_id": p.template_id, "id_number": p.workers[0]}
    first = gateway.call("POST", "/v1/claims", p.channel, body, headers=key)
    again = gateway.call("POST", "/v1/claims", p.channel, body, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    quiet()
    assert rpc.issuance.region_summary(region_code=p.region)["claimed"] == 1

    without_key = gateway.call("POST", "/v1/claims", p.channel, body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert (without_key.status_code, without_key.json()["error"]) == (422, "already_claimed")


def test_a_retried_pool_issuance_issues_once(gateway, clients, rpc, quiet):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, p, pool_size=1)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/templates/{p.template_id}/pool"
    responses = [gateway.call("POST", path, p.manager, {"quantity": 4}, headers=key) for _ in range(3)]
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["batch_id"] for r in responses}) == 1
    quiet()
    assert rpc.issuance.region_summary(region_code=p.region)["issued"] == 5


def test_the_same_key_with_another_body_is_refused(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p, pool_size=3)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    path = f"/v1/templates/{p.template_id}/pool"
    assert gateway.call("POST", path, p.manager, {"quantity": 1}, headers=key).status_code == 201
    reused = gateway.call("POST", path, p.manager, {"quantity": 2}, headers=key)
    assert (reused.status_code, reused.json()["error"]) == (409, "idempotency_key_reused")


def test_a_malformed_key_is_refused(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    response = gateway.call("POST", "/v1/templates/x/pool", p.manager, {"quantity": 1},
                            headers={"Idempotency-Key": "x" * 201})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_idempotency_key")
