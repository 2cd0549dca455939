"""The happy path of issue #2, driven only through the gateway, over the real RabbitMQ
and PostgreSQL, and every service agreeing on the numbers at the end."""
import json
import re

import requests

from sqlalchemy import create_engine, text

import launcher  # scripts/launcher.py, put on sys.path by conftest
from tests import lifecycle
from tests.platform import SERVICES, eventually, new_region


def test_the_whole_voucher_lifecycle(gateway, clients, rpc, quiet):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=3)
    lifecycle.create_templates(gateway, p, pool_size=5)

    targeted = lifecycle.issue_targeted(gateway, p)
    assert targeted["issued"] == 3

    general = lifecycle.claim(gateway, p, p.workers[0])
    used = lifecycle.redeem(gateway, p, general["code"], holder=p.workers[0])
    assert used["status"] == "used"
    for worker in p.workers[1:]:  # the others train on their targeted vouchers
        assert lifecycle.use_targeted(gateway, p, worker)["status"] == "used"

    for worker in p.workers:
        assert lifecycle.check_in(gateway, p, worker)["completed"] is True

    quiet()
    claim = lifecycle.submit_claim(gateway, p, [general["code"]])
    assert claim["status"] == "submitted"
    assert claim["total_fen"] == 80000

    paid = lifecycle.approve_and_disburse(gateway, p, claim["claim_id"])
    assert paid["status"] == "disbursed"

    # 5 pooled + 3 targeted issued; 1 + 3 claimed; 3 used (1 general, 2 targeted); 1 settled for 800 yuan.
    expected = {"issued": 8, "claimed": 4, "used": 3, "settled": 1, "settled_fen": 80000,
                "claim_rate": 0.5, "usage_rate": 0.375}

    def statistics_are_exact():
        stats = lifecycle.statistics(gateway, p)
        assert {k: stats[k] for k in expected} == expected

    eventually(statistics_are_exact)

    def every_service_agrees():
        assert rpc.issuance.region_summary(region_code=p.region) == {
            "issued": 8, "claimed": 4, "used": 3, "settled": 1, "expired": 0}
        assert rpc.redemption.region_summary(region_code=p.region) == {"claimed": 4, "used": 3, "settled": 1}
        assert rpc.settlement.region_summary(region_code=p.region) == {
            "used": 3, "settled": 1, "settled_fen": 80000}
        assert rpc.attendance.region_summary(region_code=p.region) == {"checkins": 3, "completions": 3}

    eventually(every_service_agrees)

    # The written-off code is void everywhere.
    rescan = gateway.call("POST", "/v1/redemptions", p.institution, {"code": general["code"], "class_id": p.class_id})
    assert (rescan.status_code, rescan.json()["error"]) == (409, "written_off")
    assert gateway.ok("GET", f"/v1/vouchers/{general['code']}", p.manager)["status"] == "settled"


ID_SHAPE = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{5}(?:19|20)[0-9]{2}[01][0-9][0-3][0-9]{4}[0-9X](?![0-9A-Za-z])")


CANARY_NAME = "甄栾雀"  # a name no fixture or message uses, sent through the lifecycle below
# The given name alone betrays it too, written plain or JSON-escaped.
NAME_FORMS = (CANARY_NAME[1:], json.dumps(CANARY_NAME[1:])[1:-1])


def holds_name(text):
    return any(form in text for form in NAME_FORMS)


def test_no_id_number_or_name_reaches_an_event_a_metric_or_a_log(gateway, clients, database_url, running_platform):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=2)
    gateway.ok("POST", f"/v1/classes/{p.class_id}/trainees", p.institution,
               {"trainees": [{"id_number": worker, "name": CANARY_NAME} for worker in p.workers]})
    lifecycle.create_templates(gateway, p, pool_size=2)
    lifecycle.issue_targeted(gateway, p)
    voucher = lifecycle.claim(gateway, p, p.workers[0])
    gateway.call("POST", "/v1/trainees/qr-lookup", p.institution, {"qr": voucher["code"]},
                 headers={"Idempotency-Key": None})
    lifecycle.redeem(gateway, p, voucher["code"])
    lifecycle.use_targeted(gateway, p, p.workers[1])
    lifecycle.check_in(gateway, p, p.workers[1])
    gateway.call("POST", "/v1/claims", p.channel, {"template_id": p.template_id, "id_number": p.workers[0]})

    for service in SERVICES:
        engine = create_engine(database_url(service))
        with engine.connect() as connection:
            payloads = connection.execute(text("SELECT payload::text FROM outbox")).scalars().all()
        engine.dispose()
        for payload in payloads:
            assert not ID_SHAPE.search(payload), f"{service} published an ID number"
            assert not holds_name(payload), f"{service} published a name"
    for service in launcher.SERVICES:
        metrics = requests.get(launcher.url(running_platform, service, "/metrics"), timeout=5).text
        assert not ID_SHAPE.search(metrics), f"{service}'s metrics hold something shaped like an ID number"
        assert not holds_name(metrics), f"{service}'s metrics hold a name"
    logs = launcher.ROOT / ".run" / running_platform
    for log in logs.glob("*.log"):
        content = log.read_text(errors="replace")
        assert not any(worker in content for worker in p.workers), f"{log.name} holds an ID number"
        assert not ID_SHAPE.search(content), f"{log.name} holds something shaped like an ID number"
        assert not holds_name(content), f"{log.name} holds a name"
