"""Trainees checking in by location through the gateway: each op is a signed ``POST /v1/checkins``
answered 201 — inside the site's radius, during the session's window, on the roster, with a
voucher used for the class — from CONCURRENCY e-card channel clients at once for DURATION
seconds, beside the raw limit: a conditional write of PostgreSQL from as many connections.

    .venv/bin/python bench/bench_checkins.py
    CONCURRENCY=32 PROCESSES=2 DURATION=20 POOL=20000 .venv/bin/python bench/bench_checkins.py

Set-up (not timed): POOL trainees on rosters of 5,000 with a session open now, targeted vouchers
for them, and each voucher's use recorded in attendance as redemption's ``vouchers_used`` would
(written straight into attendance's ``voucher_uses``, to keep set-up short). Each trainee checks
in once, from around the site, each from a phone of their own. The issue's target is 2,000
check-ins/s with p99 under 100 ms; this prints, never asserts.
"""
import os
import random
import sys

import harness

CONCURRENCY = int(os.environ.get("CONCURRENCY", 32))
PROCESSES = max(1, min(int(os.environ.get("PROCESSES", 2)), CONCURRENCY))
DURATION = float(os.environ.get("DURATION", 20))
WARMUP = float(os.environ.get("WARMUP", 2))
POOL = int(os.environ.get("POOL", 20_000))
CLASS_SIZE = 5_000
METRE = 1 / 111_195


def setup(rpc):
    region = harness.fresh_region(rpc)
    gateway = harness.signed(harness.add_client("manager", region))
    institution = harness.register_institution(gateway, region)
    site = institution["sites"][0]
    template_id, class_ids, trainees = harness.targeted_trainees(gateway, region, institution, POOL, CLASS_SIZE,
                                                                "check-in bench")
    harness.wait_quiet()
    record_uses(template_id, class_ids)
    channels = [harness.add_client("channel", region) for _ in range(CONCURRENCY)]
    return region, site, trainees, channels


def record_uses(template_id, class_ids):
    """Each voucher used for its holder's class, in attendance's own table."""
    import psycopg2
    uses = harness.vouchers_of(template_id, class_ids)
    with psycopg2.connect(harness.psycopg2_dsn("attendance")) as connection, connection.cursor() as cursor:
        cursor.copy_expert("COPY voucher_uses (voucher_id, class_id, person_key, use_seq, active) FROM STDIN",
                           harness._tsv([(voucher_id, class_id, holder, 1, "t")
                                         for voucher_id, _, holder, class_id in uses]))
    connection.close()


def check_in(site):
    """A trainee's check-in from within 40 m of the site, from a phone of their own: ``(status, error code or None)``."""
    def send(client, trainee):
        number, class_id = trainee
        status, answer = client.post("/v1/checkins", {
            "class_id": class_id, "id_number": number, "longitude": site["longitude"],
            "latitude": site["latitude"] + random.uniform(-40, 40) * METRE, "accuracy_m": random.uniform(5, 30),
            "device": f"phone-{number[-8:]}"})
        return status, answer.get("error") if status != 201 else None
    return send


def main():
    harness.require_platform()
    harness.note(f"databases before the run: {harness.database_sizes()}")
    rpc = harness.Rpc()
    region, site, trainees, channels = setup(rpc)
    harness.wait_quiet()
    harness.wait_machine_quiet()
    harness.note(f"check-ins: {CONCURRENCY} channels in {PROCESSES} processes, {len(trainees)} trainees, region "
                 f"{region}, {WARMUP:.0f} s warm-up + {DURATION:.0f} s measured")
    random.shuffle(trainees)

    load = harness.run_load(channels, trainees, check_in(site), processes=PROCESSES, warmup=WARMUP,
                            duration=DURATION)
    recorded, errors = load.answered(), harness.errors_of(load.window)
    harness.note(f"{len(recorded)} check-ins in {load.elapsed:.1f} s ({len(load.outcomes)} in all, warm-up included); "
                 f"errors: {errors or 'none'}")
    if len(load.outcomes) == len(trainees):
        harness.note("every trainee checked in before the end: run again with a larger POOL")
    harness.note(f"CPU while checking in: {load.cpu}")
    harness.note("server side, mean per call: " + harness.describe_entrypoints(load.before, load.after, [
        ("gateway", "check_in"), ("attendance", "check_in_many")]))

    floor, floor_cpu = harness.gateway_floor(channels, "/v1/checkins", processes=PROCESSES)
    harness.note(f"the gateway alone (signed POST /v1/checkins refused at validation, no service called): "
                 f"{floor:.0f}/s; CPU: {floor_cpu}")
    raw = harness.raw_conditional_update(CONCURRENCY)
    rpc.close()
    harness.report("checkins", ops_per_s=len(recorded) / load.elapsed, latencies_ms=[1000 * o[1] for o in recorded],
                   raw_ops_per_s=raw, errors=sum(errors.values()))


if __name__ == "__main__":
    sys.exit(main())
