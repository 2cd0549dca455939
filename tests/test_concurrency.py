"""Races decided by the database, not by luck: many signed requests at the same instant,
each with its own Idempotency-Key, through the gateway, against one template."""
import datetime
from collections import Counter

from tests.platform import at_once, distinct_id_numbers, eventually, id_number, new_region

OCCUPATION, LEVEL = "6-31-01-03", 4


def outcomes(responses):
    return Counter((r.status_code, None if r.status_code < 300 else r.json()["error"]) for r in responses)


def general_template(gateway, manager, region, quantity):
    year = datetime.date.today().year
    return gateway.ok("POST", "/v1/templates", manager, {
        "region_code": region, "name": "电工通用面值券", "function": "face_value", "distribution": "general",
        "face_value_fen": 80000, "occupation": OCCUPATION, "skill_level": LEVEL, "funding_source": "就业补助资金",
        "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31", "quantity": quantity})["template_id"]


def test_fifty_workers_racing_for_the_last_ten_vouchers_get_exactly_ten(gateway, clients, rpc):
    region = new_region()
    manager, channel = clients("manager", region), clients("channel", region, rate_limit=1000)
    template_id = general_template(gateway, manager, region, quantity=10)
    gateway.ok("POST", f"/v1/templates/{template_id}/pool", manager, {"quantity": 10})
    workers = distinct_id_numbers(50)

    responses = at_once([gateway], [
        (channel, "POST", "/v1/claims", {"template_id": template_id, "id_number": worker}) for worker in workers])

    assert outcomes(responses) == {(201, None): 10, (422, "pool_exhausted"): 40}
    codes = [r.json()["code"] for r in responses if r.status_code == 201]
    assert len(set(codes)) == 10, "a voucher was handed to two workers"
    summary = rpc.issuance.region_summary(region_code=region)
    assert (summary["issued"], summary["claimed"]) == (10, 10)

    def redemption_has_each_claim_once():
        assert rpc.redemption.region_summary(region_code=region)["claimed"] == 10
    eventually(redemption_has_each_claim_once)


def test_one_worker_claiming_from_twenty_threads_at_once_gets_one_voucher(gateway, clients, rpc):
    region = new_region()
    manager, channel = clients("manager", region), clients("channel", region, rate_limit=1000)
    template_id = general_template(gateway, manager, region, quantity=50)
    gateway.ok("POST", f"/v1/templates/{template_id}/pool", manager, {"quantity": 50})
    worker = id_number()

    responses = at_once([gateway], [
        (channel, "POST", "/v1/claims", {"template_id": template_id, "id_number": worker})] * 20)

    assert outcomes(responses) == {(201, None): 1, (422, "already_claimed"): 19}
    summary = rpc.issuance.region_summary(region_code=region)
    assert (summary["issued"], summary["claimed"]) == (50, 1)


def test_concurrent_pool_issuances_never_pass_the_templates_quantity(gateway, clients, rpc):
    region = new_region()
    manager = clients("manager", region, rate_limit=1000)
    template_id = general_template(gateway, manager, region, quantity=100)

    responses = at_once([gateway], [
        (manager, "POST", f"/v1/templates/{template_id}/pool", {"quantity": 10})] * 20)

    assert outcomes(responses) == {(201, None): 10, (409, "quantity_exceeded"): 10}
    assert rpc.issuance.region_summary(region_code=region)["issued"] == 100
    templates = gateway.ok_get("/v1/templates", manager, params={"region_code": region})
    [template] = [t for t in templates["items"] if t["template_id"] == template_id]
    assert (template["issued"], template["quantity"]) == (100, 100)
