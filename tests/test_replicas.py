"""The topology deploy/k8s ships: two replicas of every service. A second process of each
service joins the platform under test (``<service>-2``, scripts/launcher.py), requests go to
both gateways in turn, and what replicas share is decided once: the races for a voucher (two
gateways coalescing, two issuance or redemption processes consuming one RPC queue), the sweeps
that every replica's timer runs (expiry, silent sessions, issuance jobs), the events two
consumers of one queue share; a QR key one replica made verifies on the other at once. One
replica killed under load leaves its twin carrying the work."""
import datetime
import signal
import time

import pytest
import requests
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from voucher_client import qr

from common.identity import Sealer

import launcher  # scripts/launcher.py, put on sys.path by conftest
from tests import lifecycle
from tests.platform import Gateway, at_once, china_today, distinct_id_numbers, eventually, new_region, sql
from tests.test_chaos import LOAD_SECONDS, everything_agrees, prepared
from tests.test_concurrency import outcomes
from tests.test_issuance_jobs import follow, template
from tests.test_qr_redemption import claimed, device, qr_of
from tests.test_return_and_expiry import deliver_claims

SECOND = [f"{name}-2" for name in launcher.SERVICES]


@pytest.fixture(scope="module")
def gateways(running_platform):
    """Both gateways, while a second process of every service runs beside the first."""
    if launcher.pid_of(running_platform, "gateway") is None:
        pytest.skip("the platform under test was not started by this machine's launcher")
    for name in SECOND:  # the second redemption keeps its QR keys a minute (the first: not at all)
        launcher.start(running_platform, name, {"QR_KEY_CACHE_SECONDS": "60"})
    try:
        launcher.wait_ready(running_platform, SECOND, timeout=120)
        yield [Gateway(launcher.url(running_platform, name)) for name in ("gateway", "gateway-2")]
    finally:
        launcher.stop(running_platform, SECOND)


def test_fifty_workers_racing_through_two_gateways_for_the_last_ten_vouchers_get_ten(gateways, clients, rpc):
    p = lifecycle.register(gateways[0], clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateways[0], p, pool_size=10)

    responses = at_once(gateways, [(p.channel, "POST", "/v1/claims", {"template_id": p.template_id,
                                                                      "id_number": worker})
                                   for worker in distinct_id_numbers(50)])

    assert outcomes(responses) == {(201, None): 10, (422, "pool_exhausted"): 40}
    assert len({r.json()["code"] for r in responses if r.status_code == 201}) == 10
    eventually(lambda: _equal(rpc.redemption.region_summary(region_code=p.region)["claimed"], 10))
    eventually(lambda: _equal(lifecycle.statistics(gateways[1], p)["claimed"], 10))


def test_a_hundred_devices_on_two_gateways_use_one_voucher_exactly_once(gateways, clients):
    p = lifecycle.register(gateways[0], clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateways[0], p, pool_size=1)
    code = claimed(gateways[0], p, p.workers[0])
    payload = qr_of(gateways[1], p, code, p.workers[0])["payload"]
    scanners = [device(gateways[0], p, f"扫码枪 {n}")[0] for n in range(100)]

    responses = at_once(gateways, [(scanner, "POST", "/v1/redemptions", {"qr": payload, "class_id": p.class_id})
                                   for scanner in scanners])

    assert sorted(outcomes(responses).items()) == [((201, None), 1), ((409, "already_used"), 99)]


def test_a_qr_key_made_while_two_redemption_replicas_run_verifies_on_both_at_once(
        gateways, clients, running_platform, database_url):
    """One replica signs with a key the other has not read yet (its keys are a minute old): the
    other reads the keys again rather than refuse a genuine code as signed by an unknown key."""
    from redemption.dependencies import add_key
    p = lifecycle.register(gateways[0], clients, new_region(), roster_size=1)
    lifecycle.create_templates(gateways[0], p, pool_size=1)
    code = claimed(gateways[0], p, p.workers[0])
    for _ in range(4):  # both replicas read the key set (on a new platform, one of them makes the first key)
        payload = qr_of(gateways[0], p, code, p.workers[0])["payload"]
        assert gateways[1].ok("POST", "/v1/vouchers/verification", p.institution, {"qr": payload})["usable"]
    sealer = Sealer(launcher.environment(running_platform, "redemption")["PII_ENCRYPTION_KEY"])
    engine = create_engine(database_url("redemption"))
    with Session(engine) as session, session.begin():
        new_key = add_key(session, sealer).key_id  # a rotation, as `redemption-cli rotate-qr-key` makes it
    engine.dispose()

    signers = set()
    for n in range(8):  # a code, then two verifications in a row: one lands on each replica
        payload = qr_of(gateways[n % 2], p, code, p.workers[0])["payload"]
        signers.add(qr.key_id_of(payload))
        for gateway in gateways:
            verdict = gateway.call("POST", "/v1/vouchers/verification", p.institution, {"qr": payload})
            assert verdict.status_code == 200 and verdict.json()["usable"], verdict.text
    assert new_key in signers, "no code was signed by the new key: the race was not run"


def test_two_redemption_sweeps_expire_each_claimed_voucher_once(gateways, clients, amqp_uri, quiet):
    region = new_region()
    manager = clients("manager", region)
    for _ in range(3):  # 3,000 rights: three of redemption's expiry batches, for either replica to take
        deliver_claims(amqp_uri, region, china_today() - datetime.timedelta(days=2), count=1000)

    def expired(gateway):
        assert gateway.ok_get(f"/v1/indicators/{region}", manager)["expired"] == 3000
    eventually(lambda: expired(gateways[0]), timeout=60, interval=0.5)
    quiet(60)
    expired(gateways[1])  # and no sweep counted one twice meanwhile


def test_two_issuance_replicas_run_a_job_chunk_by_chunk_and_issue_it_exactly(gateways, clients, rpc):
    region = new_region()
    manager = clients("manager", region)
    template_id = template(gateways[0], manager, region, "general", quantity=10_000)
    response = gateways[1].call("POST", "/v1/issuance-jobs", manager, {"template_id": template_id, "quantity": 5_500})
    assert response.status_code == 202, response.text

    _, job = follow(gateways[0], manager, response.json()["job_id"])

    assert (job["status"], job["issued"], job["progress"]["done"]) == ("done", 5_500, 5_500)
    assert rpc.issuance.region_summary(region_code=region)["issued"] == 5_500
    eventually(lambda: _equal(gateways[1].ok_get(f"/v1/indicators/{region}", manager)["issued"], 5_500))


def test_two_attendance_sweeps_flag_each_silent_session_once(gateways, clients, database_url, quiet):
    region, now = new_region(), datetime.datetime.now(datetime.timezone.utc)
    classes = [lifecycle.register(gateways[n % 2], clients, region, roster_size=1) for n in range(4)]
    for p in classes:
        gateways[0].ok("PUT", f"/v1/classes/{p.class_id}/sessions", p.institution, {"sessions": [
            {"starts_at": (now - datetime.timedelta(hours=3)).isoformat(),
             "ends_at": (now - datetime.timedelta(hours=1)).isoformat()}]})

    def each_flagged():
        listed = gateways[1].ok_get("/v1/attendance-anomalies", classes[0].manager,
                                    params={"kind": "no_checkins", "limit": 50})["items"]
        assert sorted(a["class_id"] for a in listed) == sorted(p.class_id for p in classes), listed
    eventually(each_flagged, timeout=30, interval=0.5)
    quiet()
    assert sql(database_url, "statistics", "SELECT sum(n) FROM activity_counts "
               "WHERE region_code = :r AND kind = 'anomaly:no_checkins'", r=region) == [(4,)]


# What a killed replica's twin must go on doing meanwhile.
VICTIMS = {"gateway": {"claim", "use"}, "issuance": {"claim"}, "redemption": {"use"}}


@pytest.mark.parametrize("victim", VICTIMS)
def test_a_replica_killed_under_load_leaves_its_twin_carrying_the_work(
        gateways, clients, rpc, quiet, running_platform, victim):
    p, load = prepared(gateways[0], clients, quiet, gateways)
    load.start()
    time.sleep(LOAD_SECONDS / 3)
    launcher.stop(running_platform, [victim], sig=signal.SIGKILL)
    down_since = time.monotonic()
    try:
        time.sleep(3)
        down_until = time.monotonic()
    finally:
        launcher.start(running_platform, victim)
        launcher.wait_ready(running_platform, [victim], timeout=90)
    load.finish()

    meanwhile = {kind for kind, at in load.carried_out if down_since + 0.5 < at < down_until}
    assert VICTIMS[victim] <= meanwhile, f"nothing of {VICTIMS[victim] - meanwhile} was carried out meanwhile"
    everything_agrees(gateways[0], rpc, quiet, running_platform, p)


def test_every_second_replica_took_its_share(gateways, running_platform):
    """Last in the module: the tests above went through both processes of every service."""
    for name in SECOND:
        metrics = requests.get(launcher.url(running_platform, name, "/metrics"), timeout=5).text
        handled = sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                      if line.startswith("entrypoint_calls_total{") and any(
                          f'kind="{kind}"' in line for kind in ("Rpc", "Subscription", "ApiEndpoint")))
        assert handled > 0, f"{name} handled no request, command or event"


def _equal(found, expected):
    assert found == expected, found
