"""Settling vouchers through the gateway: each op is a voucher paid and written off (核销) — its
line in an institution's application (资金申请) of APPLICATION codes, the application reviewed by
one manager and approved by another (a third as well above the dual-approval amount), paid from
the region's funding pool through one bank payment file and the bank's answer, and counted as
settled by statistics — from the first submission until statistics counts the last voucher,
APPLICANTS applications in flight at once. The raw limit beside it: the write-off's conditional
UPDATE from as many PostgreSQL connections. p50/p99 are those of the workflow's requests
(submit, review, approvals, payment file, the bank's answer).

    .venv/bin/python bench/bench_settlement.py
    POOL=5000 APPLICATION=200 APPLICANTS=8 .venv/bin/python bench/bench_settlement.py

Set-up (not timed): POOL trainees on rosters of 1,000 with targeted vouchers, each voucher used
by the institution (its code typed in) and each trainee checked in, through the gateway, so that
settlement has heard of every use and completion by event; the region's pool funded.
"""
import concurrent.futures
import csv
import io
import os
import sys
import threading
import time

import harness

POOL = int(os.environ.get("POOL", 5_000))
APPLICATION = int(os.environ.get("APPLICATION", 100))
APPLICANTS = int(os.environ.get("APPLICANTS", 6))
SETUP_CLIENTS = 16
CLASS_SIZE = 1_000
STANDARD_FEN = 120_000
FUNDING_SOURCE = "就业补助资金"


def in_parallel(function, items, workers=SETUP_CLIENTS):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, items))


def setup(rpc):
    region = harness.fresh_region(rpc)
    manager = harness.add_client("manager", region)
    gateway = harness.signed(manager)
    institution = harness.register_institution(gateway, region)
    site = institution["sites"][0]
    template_id, class_ids, trainees = harness.targeted_trainees(gateway, region, institution, POOL, CLASS_SIZE,
                                                                "settlement bench")
    harness.wait_quiet()
    vouchers = harness.vouchers_of(template_id, class_ids)
    scanner = harness.add_client("institution", region, institution_id=institution["institution_id"])
    channel = harness.add_client("channel", region)
    local = threading.local()

    def client(credentials):
        if getattr(local, credentials.key_id, None) is None:
            setattr(local, credentials.key_id, harness.LoadClient(credentials))
        return getattr(local, credentials.key_id)

    def use(voucher):
        _, code, _, class_id = voucher
        return client(scanner).post("/v1/redemptions", {"code": code, "class_id": class_id})[0]

    def check_in(trainee):
        number, class_id = trainee
        return client(channel).post("/v1/checkins", {
            "class_id": class_id, "id_number": number, "latitude": site["latitude"], "longitude": site["longitude"],
            "accuracy_m": 10})[0]

    used = in_parallel(use, vouchers)
    harness.wait_quiet()
    checked_in = in_parallel(check_in, trainees)
    if used.count(201) != POOL or checked_in.count(201) != POOL:
        raise SystemExit(f"set-up: {used.count(201)} uses and {checked_in.count(201)} check-ins of {POOL}")
    harness.ok(gateway.post("/v1/funding-pools/allocations", {
        "region_code": region, "funding_source": FUNDING_SOURCE, "amount_fen": POOL * STANDARD_FEN}))
    harness.wait_quiet()
    managers = [harness.signed(harness.add_client("manager", region)) for _ in range(2)]
    applicant = harness.add_client("institution", region, institution_id=institution["institution_id"])
    return region, [code for _, code, _, _ in vouchers], gateway, managers, applicant


class Timed:
    """A signed client that keeps each request's latency and refuses any answer but 200/201."""

    def __init__(self, client):
        self.client, self.latencies, self._lock = client, [], threading.Lock()

    def __call__(self, method, path, body=None):
        began = time.perf_counter()
        response = self.client.request(method, path, body)
        with self._lock:
            self.latencies.append(1000 * (time.perf_counter() - began))
        return harness.ok(response)


def main():
    harness.require_platform()
    harness.note(f"databases before the run: {harness.database_sizes()}")
    rpc = harness.Rpc()
    began = time.perf_counter()
    region, codes, manager, (reviewer, second), applicant = setup(rpc)
    harness.note(f"set-up: {POOL} vouchers used and their trainees checked in, region {region}, in "
                 f"{time.perf_counter() - began:.0f} s (not timed)")
    harness.wait_machine_quiet()
    applications = [codes[i:i + APPLICATION] for i in range(0, len(codes), APPLICATION)]
    harness.note(f"settlement: {len(applications)} applications of up to {APPLICATION} codes, {APPLICANTS} at a time")

    timed = {name: Timed(client) for name, client in (
        ("manager", manager), ("reviewer", reviewer), ("second", second), ("applicant", harness.signed(applicant)))}
    refused_lines = []

    def settle(lines):
        claim = timed["applicant"]("POST", "/v1/subsidy-claims", {"codes": lines})
        refused_lines.extend(line for line in claim["lines"] if not line["accepted"])
        path = f"/v1/subsidy-claims/{claim['claim_id']}"
        timed["reviewer"]("POST", path + "/review")
        if timed["manager"]("POST", path + "/approval", {})["awaiting_second_approval"]:
            timed["second"]("POST", path + "/approval", {})

    meter = harness.CpuMeter()
    before = harness.entrypoint_times()
    meter.mark("start")
    started = time.perf_counter()
    in_parallel(settle, applications, workers=APPLICANTS)
    approved = time.perf_counter()
    payment_file = timed["manager"]("POST", "/v1/payment-files")
    download = manager.request("GET", f"/v1/payment-files/{payment_file['file_id']}")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    timed["manager"]("POST", f"/v1/payment-files/{payment_file['file_id']}/results", {"results": [
        {"instruction_id": row["instruction_id"], "status": "paid", "bank_reference": f"BENCH-{i}"}
        for i, row in enumerate(rows)]})
    paid = time.perf_counter()
    counted = harness.wait_counted(rpc, region, "settled", POOL)
    meter.mark("end")
    after = harness.entrypoint_times()
    finished = counted or time.perf_counter()
    harness.note(f"approved in {approved - started:.1f} s; payment file of {len(rows)} instructions and the bank's "
                 f"answer {paid - approved:.1f} s; statistics counted all {POOL} settled "
                 + (f"{counted - paid:.1f} s later" if counted else "NOT within the timeout"))
    harness.note(f"CPU: {meter.describe('start', 'end')}")
    harness.note("server side, mean per call: " + harness.describe_entrypoints(before, after, [
        ("gateway", "submit_claim"), ("settlement", "submit_claim"), ("settlement", "approve_claim"),
        ("settlement", "record_payment_results"), ("statistics", "handle_vouchers_settled")]))

    raw = harness.raw_conditional_update(APPLICANTS)
    rpc.close()
    latencies = [ms for client in timed.values() for ms in client.latencies]
    harness.report("settlement", ops_per_s=POOL / (finished - started), latencies_ms=latencies, raw_ops_per_s=raw,
                   errors=len(refused_lines) + (0 if counted else POOL))


if __name__ == "__main__":
    sys.exit(main())
