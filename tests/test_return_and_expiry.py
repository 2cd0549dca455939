"""Issues #4/#5 at use: a holder returns a voucher they cannot use (退券, pilot plan §二(一)1) and it
goes back to its pool for someone else (换券); a claimed voucher unused past its last day expires
by itself (Wuxi §四(二)); one voucher-funded training per person, occupation and year (Wuxi §四(三))."""
import datetime
import uuid

from kombu import Connection

from common import codes
from common.events import Event, queue_names
from tests import lifecycle
from tests.platform import china_today, eventually, new_region


def answered(send, status):
    """Send until the answer is ``status``: the services hear of claims and returns by events."""
    def attempt():
        response = send()
        assert response.status_code == status, response.text
        return response.json()
    return eventually(attempt)


def give_back(gateway, p, code, worker):
    return gateway.call("POST", f"/v1/vouchers/{code}/return", p.channel, {"id_number": worker})


def scan(gateway, p, code):
    return gateway.call("POST", "/v1/redemptions", p.institution, {"code": code, "class_id": p.class_id})


def verify(gateway, client, code):
    return gateway.ok("POST", "/v1/vouchers/verification", client, {"code": code})


def refused(response, status, code):
    assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert response.json()["message"]


def test_a_returned_voucher_goes_back_to_its_pool_and_someone_else_claims_and_uses_it(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p, pool_size=1)
    holder, other = p.workers
    voucher = lifecycle.claim(gateway, p, holder)

    def claim_other():
        return gateway.call("POST", "/v1/claims", p.channel, {"template_id": p.template_id, "id_number": other})
    refused(claim_other(), 422, "pool_exhausted")

    returned = answered(lambda: give_back(gateway, p, voucher["code"], holder), 200)
    assert (returned["status"], returned["code"]) == ("returned", voucher["code"])
    again = answered(claim_other, 201)
    assert again["voucher_id"] == voucher["voucher_id"] and again["code"] != voucher["code"]  # a new code
    eventually(lambda: refused(scan(gateway, p, voucher["code"]), 404, "voucher_not_claimed"))  # the old copy is void
    used = answered(lambda: scan(gateway, p, again["code"]), 201)  # redemption knows its new holder
    assert used["status"] == "used"

    def holders_vouchers():
        mine = gateway.call("POST", "/v1/vouchers/holder-query", p.channel, {"id_number": holder},
                            headers={"Idempotency-Key": None})
        assert mine.status_code == 200 and mine.json()["items"] == [], mine.text
    eventually(holders_vouchers)


def test_only_the_holder_returns_only_an_unused_voucher_and_a_returned_one_is_never_used(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    lifecycle.create_templates(gateway, p, pool_size=2)
    first, second = p.workers
    a, b = lifecycle.claim(gateway, p, first)["code"], lifecycle.claim(gateway, p, second)["code"]

    def not_the_holder():
        refused(give_back(gateway, p, a, second), 422, "not_the_holder")
    eventually(not_the_holder)
    assert give_back(gateway, p, a, second).json()["details"] is None  # nothing about the voucher

    lifecycle.redeem(gateway, p, a)
    refused(give_back(gateway, p, a, first), 409, "already_used")

    answered(lambda: give_back(gateway, p, b, second), 200)
    refused(give_back(gateway, p, b, second), 409, "returned")
    refused(scan(gateway, p, b), 409, "returned")
    verdict = verify(gateway, p.institution, b)
    assert (verdict["usable"], verdict["reason"]) == (False, "returned")
    refused(give_back(gateway, p, codes.new_code(), second), 404, "voucher_not_claimed")
    refused(give_back(gateway, p, a[:-1] + ("0" if a[-1] != "0" else "1"), first), 400, "invalid_code")


def deliver_claims(amqp_uri, region, valid_until, count=1):
    """``count`` claims of vouchers with the given last day, as one event straight into
    redemption's queue; their codes."""
    year = china_today().year
    template = {"template_id": str(uuid.uuid4()), "region_code": region, "function": "face_value",
                "distribution": "general", "face_value_fen": 50000, "subsidy_standard_fen": None,
                "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL, "institution_ids": None,
                "funding_source": "就业补助资金", "valid_from": f"{year - 1}-01-01", "valid_until": f"{year}-12-31"}
    claimed_at = datetime.datetime.now(datetime.timezone.utc).isoformat()
    vouchers = [{"voucher_id": str(uuid.uuid4()), "code": codes.new_code(), "person_key": uuid.uuid4().hex * 2,
                 "claimed_at": claimed_at, "valid_until": valid_until.isoformat()} for _ in range(count)]
    event = Event(type="vouchers_claimed", source="issuance", aggregate_id=vouchers[0]["voucher_id"],
                  payload={"template": template, "vouchers": vouchers})
    queue = queue_names("issuance", "vouchers_claimed", "redemption", "handle_vouchers_claimed")[0]
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(event.to_message(), exchange="", routing_key=queue, serializer="json",
                                      delivery_mode=2)
    return [voucher["code"] for voucher in vouchers]


def test_a_claimed_voucher_unused_past_its_own_last_day_expires_by_itself(gateway, clients, amqp_uri, profile):
    region = new_region()
    manager = clients("manager", region)
    today = china_today()
    [past] = deliver_claims(amqp_uri, region, today - datetime.timedelta(days=2))
    [current] = deliver_claims(amqp_uri, region, today + datetime.timedelta(days=30))

    def expired():
        verdict = verify(gateway, manager, past)
        assert (verdict["status"], verdict["usable"], verdict["reason"]) == ("expired", False, "expired"), verdict
    eventually(expired, timeout=20 if profile == "test" else 90)  # the test profile sweeps every second
    eventually(lambda: _assert_equal(gateway.ok_get(f"/v1/indicators/{region}", manager)["expired"], 1))
    assert verify(gateway, manager, current)["usable"] is True  # its own last day is still ahead


def test_a_second_voucher_funded_training_in_the_same_occupation_this_year_is_refused(gateway, clients):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateway, p, pool_size=1)
    year = china_today().year
    other_template = gateway.ok("POST", "/v1/templates", p.manager, {
        "region_code": p.region, "name": "电工通用抵用券", "function": "credit", "distribution": "general",
        "subsidy_standard_fen": 120000, "occupation": lifecycle.OCCUPATION, "skill_level": lifecycle.LEVEL,
        "funding_source": "失业保险基金", "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31",
        "quantity": 10})["template_id"]
    gateway.ok("POST", f"/v1/templates/{other_template}/pool", p.manager, {"quantity": 1})
    worker = p.workers[0]
    first = lifecycle.claim(gateway, p, worker)["code"]
    second = gateway.ok("POST", "/v1/claims", p.channel, {"template_id": other_template, "id_number": worker})["code"]
    eventually(lambda: _assert_equal(verify(gateway, p.institution, second)["usable"], True))

    lifecycle.redeem(gateway, p, first)
    refusal = scan(gateway, p, second)
    refused(refusal, 422, "occupation_trained_this_year")
    assert lifecycle.OCCUPATION in refusal.json()["message"]
    assert verify(gateway, p.institution, second)["usable"] is True  # refused for this person, not spent


def _assert_equal(actual, expected):
    assert actual == expected, actual
