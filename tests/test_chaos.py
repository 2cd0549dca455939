"""Faults under load (issue #9): while workers claim vouchers and an institution scans them, the
broker is stopped and started, PostgreSQL is stopped and started, or a service is killed with
SIGKILL and started again. Every request is retried with its own Idempotency-Key until it is
answered, as a provincial platform would. Afterwards each worker holds exactly one voucher,
each scan used exactly one, every service counts the same, and the invariant checker finds
nothing wrong in the region. Readiness says not-ready while the broker or the database is down."""
import itertools
import os
import signal
import subprocess
import threading
import time
import uuid

import pytest
import requests

import launcher  # scripts/launcher.py, put on sys.path by conftest
import ops  # scripts/ops.py
from tests import lifecycle
from tests.platform import distinct_id_numbers, eventually, new_region, rabbitmq

CLAIMERS, SCANNED, THREADS = 90, 30, 6
LOAD_SECONDS = 8.0  # the load is paced over this long, so that the fault lands in its middle
GIVE_UP_AFTER = 120.0  # seconds for the whole load: a request still failing then is a failure
RETRYABLE = {0, 429, 500, 502, 503, 504}  # 0: the connection itself failed


def postgresql(action):
    cluster = ["pg_ctlcluster", "--skip-systemctl-redirect", sorted(os.listdir("/etc/postgresql"))[-1], "main"]
    running = subprocess.run([*cluster, "status"], capture_output=True).returncode == 0
    if running != (action == "start"):  # starting a running cluster is an error to pg_ctlcluster
        subprocess.run([*cluster, action, *(["-m", "fast"] if action == "stop" else [])], check=True,
                       capture_output=True, timeout=120)


@pytest.fixture
def restored(own_platform):
    """Whatever a test did, the broker, the database and every service are running after it."""
    yield
    rabbitmq("start_app")
    postgresql("start")
    for name in launcher.SERVICES:
        launcher.start(own_platform, name)
    launcher.wait_ready(own_platform, launcher.SERVICES, timeout=120)


def readiness(profile):
    """Each service's /health/ready: {name: (status code, its checks)}."""
    found = {}
    for name in launcher.SERVICES:
        try:
            response = requests.get(launcher.url(profile, name, "/health/ready"), timeout=5)
            found[name] = (response.status_code, response.json()["checks"])
        except requests.RequestException as exc:
            found[name] = (0, exc.__class__.__name__)
    return found


def not_ready_for(profile, dependency):
    def check():
        states = readiness(profile)
        for name, (status, checks) in states.items():
            assert status == 503 and checks[dependency] != "ok", (name, status, checks)
    eventually(check, timeout=30, interval=0.5)


def ready_again(profile):
    def check():
        states = readiness(profile)
        assert all(status == 200 for status, _ in states.values()), states
    eventually(check, timeout=90, interval=0.5)


class Load:
    """CLAIMERS workers claim a general voucher each and an institution uses SCANNED targeted
    vouchers, from THREADS threads paced over LOAD_SECONDS. Each request keeps its
    Idempotency-Key through its retries: at most one effect, whatever was lost on the way."""

    def __init__(self, gateways, p, claimers, codes):
        self.gateways, self.p = gateways, p
        # claims and uses spread evenly over the load, so that a fault in its middle meets both
        work = [(kind, subject) for _, kind, subject in sorted(
            [(i / len(claimers), "claim", number) for i, number in enumerate(claimers)]
            + [(i / len(codes), "use", code) for i, code in enumerate(codes)])]
        self.shares = [work[i::THREADS] for i in range(THREADS)]
        self.answers, self.retries, self.carried_out = {}, 0, []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(share,), daemon=True) for share in self.shares]

    def start(self):
        self.deadline = time.monotonic() + GIVE_UP_AFTER
        for thread in self.threads:
            thread.start()
        return self

    def _send(self, gateway, kind, subject, key):
        if kind == "claim":
            return gateway.call("POST", "/v1/claims", self.p.channel,
                                {"template_id": self.p.template_id, "id_number": subject}, headers=key)
        return gateway.call("POST", "/v1/redemptions", self.p.institution,
                            {"code": subject, "class_id": self.p.class_id}, headers=key)

    def _run(self, share):
        """Each attempt through the next gateway, as a load balancer retries on another replica."""
        pause = LOAD_SECONDS / max(1, len(share))
        for number, (kind, subject) in enumerate(share):
            key = {"Idempotency-Key": str(uuid.uuid4())}
            for attempt in itertools.count(number):
                try:
                    response = self._send(self.gateways[attempt % len(self.gateways)], kind, subject, key)
                    status, body = response.status_code, response.json()
                except (requests.RequestException, ValueError) as exc:
                    status, body = 0, {"error": exc.__class__.__name__}
                if status not in RETRYABLE or time.monotonic() > self.deadline:
                    break
                with self._lock:
                    self.retries += 1
                time.sleep(0.5)
            self.answers[(kind, subject)] = (status, body)
            if status == 201:
                with self._lock:
                    self.carried_out.append((kind, time.monotonic()))
            time.sleep(pause)

    def finish(self):
        for thread in self.threads:
            thread.join(timeout=max(0.0, self.deadline - time.monotonic()) + 60)
        assert len(self.answers) == sum(map(len, self.shares)), "the load did not finish in time"
        failed = {k: v for k, v in self.answers.items() if v[0] != 201}
        assert not failed, f"{len(failed)} requests not carried out, e.g. {list(failed.items())[:3]}"
        codes = [body["code"] for (kind, _), (_, body) in self.answers.items() if kind == "claim"]
        assert len(set(codes)) == len(codes) == CLAIMERS  # one voucher each, none given twice
        return self


def prepared(gateway, clients, quiet, gateways=None):
    """A region with a pool of exactly CLAIMERS general vouchers (a claim applied twice would
    leave someone without one) and SCANNED trainees holding a targeted voucher each; the load
    goes through ``gateways`` (the one gateway if not given)."""
    p = lifecycle.register(gateway, clients, new_region(), roster_size=SCANNED)
    lifecycle.create_templates(gateway, p, pool_size=CLAIMERS)
    lifecycle.issue_targeted(gateway, p)
    quiet()
    codes = [eventually(lambda: lifecycle.targeted_code(gateway, p, worker)) for worker in p.workers]
    return p, Load(gateways or [gateway], p, distinct_id_numbers(CLAIMERS, exclude=p.workers), codes)


def everything_agrees(gateway, rpc, quiet, profile, p):
    """Every service counts what the load did, once; then the invariant checker over the region."""
    issued = claimed = CLAIMERS + SCANNED

    def exact():
        assert rpc.issuance.region_summary(region_code=p.region) == {
            "issued": issued, "claimed": claimed, "used": SCANNED, "settled": 0, "expired": 0}
        assert rpc.redemption.region_summary(region_code=p.region) == {
            "claimed": claimed, "used": SCANNED, "settled": 0}
        stats = lifecycle.statistics(gateway, p)
        assert (stats["issued"], stats["claimed"], stats["used"]) == (issued, claimed, SCANNED), stats
    eventually(exact, timeout=90, interval=0.5)
    quiet(90)
    violated = [result for result in ops.check(profile, p.region) if not result.ok]
    assert not violated, violated


# What goes down, and the readiness check that must say so meanwhile.
OUTAGES = {"rabbitmq": (lambda: rabbitmq("stop_app"), lambda: rabbitmq("start_app"), "broker"),
           "postgresql": (lambda: postgresql("stop"), lambda: postgresql("start"), "database")}


@pytest.mark.parametrize("outage", OUTAGES)
def test_a_dependency_stopped_and_started_under_load(own_platform, gateway, clients, rpc, quiet, restored, outage):
    stop, start, dependency = OUTAGES[outage]
    p, load = prepared(gateway, clients, quiet)
    load.start()
    time.sleep(LOAD_SECONDS / 3)
    stop()
    try:
        not_ready_for(own_platform, dependency)
        time.sleep(2)
    finally:
        start()
    ready_again(own_platform)
    load.finish()
    assert load.retries, "the outage should have been felt by some request"
    everything_agrees(gateway, rpc, quiet, own_platform, p)


@pytest.mark.parametrize("victim", ["issuance", "redemption", "statistics"])
def test_a_service_killed_with_sigkill_under_load(own_platform, gateway, clients, rpc, quiet, restored, victim):
    p, load = prepared(gateway, clients, quiet)
    load.start()
    time.sleep(LOAD_SECONDS / 3)
    launcher.stop(own_platform, [victim], sig=signal.SIGKILL)
    time.sleep(2)
    launcher.start(own_platform, victim)
    launcher.wait_ready(own_platform, [victim], timeout=90)
    load.finish()
    everything_agrees(gateway, rpc, quiet, own_platform, p)
