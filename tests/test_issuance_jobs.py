"""Bulk issuance in the background (批量发券任务): a job reports its progress, issues exactly what
it was asked, chunk by chunk, and goes on where it stopped after its service is killed. The test
platform issues a pool job 1,000 vouchers a transaction (JOB_CHUNK)."""
import datetime
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

import launcher  # scripts/launcher.py, put on sys.path by conftest
from tests import lifecycle
from tests.platform import eventually, id_number, new_region

OCCUPATION, LEVEL = lifecycle.OCCUPATION, lifecycle.LEVEL


def template(gateway, manager, region, distribution, quantity, occupation=OCCUPATION):
    year = datetime.date.today().year
    return gateway.ok("POST", "/v1/templates", manager, {
        "region_code": region, "name": f"{distribution} (jobs)", "function": "credit", "distribution": distribution,
        "subsidy_standard_fen": 120000, "occupation": occupation, "skill_level": LEVEL,
        "funding_source": "就业补助资金", "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31",
        "quantity": quantity})["template_id"]


def follow(gateway, manager, job_id, timeout=60):
    """Every distinct progress seen until the job finishes, and the finished job."""
    seen, deadline = [], time.monotonic() + timeout
    while True:
        job = gateway.ok("GET", f"/v1/issuance-jobs/{job_id}", manager)
        if not seen or seen[-1] != job["progress"]["done"]:
            seen.append(job["progress"]["done"])
        if job["status"] != "running":
            return seen, job
        assert time.monotonic() < deadline, f"job still running: {job}"
        time.sleep(0.05)


def test_a_pool_job_reports_its_progress_and_issues_exactly_its_quantity(gateway, clients, rpc):
    region = new_region()
    manager = clients("manager", region)
    template_id = template(gateway, manager, region, "general", quantity=10_000)
    response = gateway.call("POST", "/v1/issuance-jobs", manager, {"template_id": template_id, "quantity": 5_500})
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["status"], job["progress"]) == ("running", {"done": 0, "total": 5_500, "unit": "vouchers"})

    seen, job = follow(gateway, manager, job["job_id"])

    assert (job["status"], job["issued"], job["refusals"], job["progress"]["done"]) == ("done", 5_500, [], 5_500)
    assert seen == sorted(seen) and set(seen) <= {0, 1000, 2000, 3000, 4000, 5000, 5500}, seen
    assert job["finished_at"]
    assert rpc.issuance.region_summary(region_code=region)["issued"] == 5_500
    eventually(lambda: _counted(gateway, manager, region, issued=5_500))


def test_a_targeted_job_issues_class_by_class_and_lists_the_class_it_could_not(gateway, clients, rpc):
    province = lifecycle.register(gateway, clients, new_region(), roster_size=3)
    other = lifecycle.register(gateway, clients, province.region, roster_size=2)
    now = datetime.datetime.now(datetime.timezone.utc)
    welders = gateway.ok("POST", "/v1/classes", province.institution, {
        "site_id": province.site["site_id"], "name": "焊工四级", "occupation": "6-18-02-04", "skill_level": LEVEL,
        "completion_threshold": 1.0, "roster": [id_number()],
        "sessions": [{"starts_at": now.isoformat(), "ends_at": (now + datetime.timedelta(hours=2)).isoformat()}]
    })["class_id"]
    template_id = template(gateway, province.manager, province.region, "targeted", quantity=100)
    classes = [province.class_id, welders, other.class_id]

    job = gateway.ok("POST", "/v1/issuance-jobs", province.manager, {"template_id": template_id,
                                                                     "class_ids": classes})
    seen, job = follow(gateway, province.manager, job["job_id"])

    assert (job["status"], job["issued"], job["progress"]) == ("done", 5, {"done": 3, "total": 3, "unit": "classes"})
    assert [(r["class_id"], r["error"]) for r in job["refusals"]] == [(welders, "occupation_mismatch")]
    assert rpc.issuance.region_summary(region_code=province.region)["claimed"] == 5
    eventually(lambda: _redemption_claimed(rpc, province.region, 5))


def test_a_job_started_twice_with_one_idempotency_key_is_one_job(gateway, clients, rpc):
    region = new_region()
    manager = clients("manager", region)
    template_id = template(gateway, manager, region, "general", quantity=10_000)
    key, body = str(uuid.uuid4()), {"template_id": template_id, "quantity": 2_000}
    first = gateway.call("POST", "/v1/issuance-jobs", manager, body, headers={"Idempotency-Key": key})
    again = gateway.call("POST", "/v1/issuance-jobs", manager, body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["job_id"] == again.json()["job_id"]
    follow(gateway, manager, first.json()["job_id"])
    assert rpc.issuance.region_summary(region_code=region)["issued"] == 2_000


def test_a_job_beyond_the_templates_quantity_is_refused_before_it_starts(gateway, clients):
    region = new_region()
    manager = clients("manager", region)
    template_id = template(gateway, manager, region, "general", quantity=1_000)
    response = gateway.call("POST", "/v1/issuance-jobs", manager, {"template_id": template_id, "quantity": 1_001})
    assert (response.status_code, response.json()["error"]) == (409, "quantity_exceeded")
    both = gateway.call("POST", "/v1/issuance-jobs", manager, {"template_id": template_id, "quantity": 5,
                                                              "class_ids": [str(uuid.uuid4())]})
    assert (both.status_code, both.json()["error"]) == (400, "validation_failed")


def test_a_pool_job_that_runs_out_of_quantity_stops_with_the_reason(gateway, clients, rpc):
    """The quantity is decided at each chunk: a pool issued directly meanwhile may take what
    the job would have had. Whichever comes first, the template's quantity is never passed."""
    region = new_region()
    manager = clients("manager", region)
    template_id = template(gateway, manager, region, "general", quantity=5_000)
    job = gateway.ok("POST", "/v1/issuance-jobs", manager, {"template_id": template_id, "quantity": 4_000})
    direct = gateway.call("POST", f"/v1/templates/{template_id}/pool", manager, {"quantity": 2_000})
    _, job = follow(gateway, manager, job["job_id"])

    if direct.status_code == 201:
        assert (job["status"], job["issued"]) == ("stopped", 3_000)
        assert [r["error"] for r in job["refusals"]] == ["quantity_exceeded"]
    else:
        assert (direct.status_code, direct.json()["error"]) == (409, "quantity_exceeded")
        assert (job["status"], job["issued"]) == ("done", 4_000)
    assert rpc.issuance.region_summary(region_code=region)["issued"] == (5_000 if direct.status_code == 201 else 4_000)


def test_a_job_whose_service_is_killed_goes_on_where_it_stopped_and_issues_nothing_twice(
        running_platform, gateway, clients, rpc):
    if launcher.pid_of(running_platform, "issuance") is None:
        pytest.skip("the platform under test was not started by this machine's launcher")
    region = new_region()
    manager = clients("manager", region)
    template_id = template(gateway, manager, region, "general", quantity=100_000)
    job = gateway.ok("POST", "/v1/issuance-jobs", manager, {"template_id": template_id, "quantity": 30_000})
    before_kill = eventually(lambda: _part_done(gateway, manager, job["job_id"]), timeout=30, interval=0.02)
    launcher.stop(running_platform, ["issuance"], sig=signal.SIGKILL)
    try:
        while_down = gateway.call("GET", f"/v1/issuance-jobs/{job['job_id']}", manager)
        assert (while_down.status_code, while_down.json()["error"]) == (503, "service_unavailable")
    finally:
        launcher.start(running_platform, "issuance")
        launcher.wait_ready(running_platform, ["issuance"])
    _, job = follow(gateway, manager, job["job_id"], timeout=120)

    assert 0 < before_kill < 30_000
    assert (job["status"], job["issued"], job["progress"]["done"]) == ("done", 30_000, 30_000)
    assert rpc.issuance.region_summary(region_code=region)["issued"] == 30_000
    eventually(lambda: _counted(gateway, manager, region, issued=30_000))


def _part_done(gateway, manager, job_id):
    progress = gateway.ok("GET", f"/v1/issuance-jobs/{job_id}", manager)["progress"]
    assert 0 < progress["done"] < progress["total"], progress
    return progress["done"]


def _counted(gateway, manager, region, **expected):
    summary = gateway.ok("GET", f"/v1/indicators/{region}", manager)
    assert {name: summary[name] for name in expected} == expected, summary


def _redemption_claimed(rpc, region, count):
    assert rpc.redemption.region_summary(region_code=region)["claimed"] == count


def test_the_sdk_starts_a_job_follows_it_with_a_progress_bar_and_a_rerun_finds_the_same_job(gateway, clients, rpc):
    region = new_region()
    manager = clients("manager", region)
    template_id = template(gateway, manager, region, "general", quantity=10_000)
    env = {**os.environ, "VT_BASE_URL": gateway.base_url, "VT_KEY_ID": manager.key_id, "VT_SECRET": manager.secret}
    command = [sys.executable, "-m", "voucher_client.jobs", "start", template_id, "--quantity", "3000"]

    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == again.stdout.strip() == "done: 3000 vouchers issued"
    assert "] 3000/3000 vouchers" in first.stderr
    assert first.stderr.splitlines()[0] == again.stderr.splitlines()[0]  # "job <the same id>"
    assert rpc.issuance.region_summary(region_code=region)["issued"] == 3_000
