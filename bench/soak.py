"""Ten minutes of steady load, to see whether any service's memory grows: CLIENTS channel
clients in a separate process claim general vouchers at RATE claims a second in all (each
claim a different worker), and look a worker's vouchers up once in ten, while every platform
process's resident memory (VmRSS) is sampled every SAMPLE seconds. A leak shows as RSS that keeps
rising after the first minute; steady load on a healthy service levels off.

    .venv/bin/python bench/soak.py                       # make soak
    SOAK_SECONDS=120 RATE=50 .venv/bin/python bench/soak.py

Prints one JSON line (``soak``: the claims' rate and latencies beside the raw conditional update)
and, on stderr, each service's RSS after the first minute, at the end and at its peak.
"""
import os
import random
import sys
import threading
import time

import bench_claims
import harness

SOAK_SECONDS = float(os.environ.get("SOAK_SECONDS", 600))
RATE = float(os.environ.get("RATE", 100))
CLIENTS = int(os.environ.get("CLIENTS", 8))
SAMPLE = float(os.environ.get("SAMPLE", 10))
SETTLED_AFTER = 60.0  # seconds: start-up and caches filling are not growth


def claim_and_look(template_id):
    """A worker's claim, and once in ten the worker's vouchers looked up: ``(status, error code or None)``."""
    claim = bench_claims.claim(template_id)

    def send(client, number):
        answer = claim(client, number)
        if random.random() < 0.1:
            client.post("/v1/vouchers/holder-query", {"id_number": number})
        return answer
    return send


def sample_memory(until, samples):
    """Every SAMPLE seconds until ``until``: (seconds since the start, {service: RSS MB})."""
    started = time.time()
    while time.time() < until:
        samples.append((time.time() - started, harness.memory_mb()))
        time.sleep(SAMPLE)


def main():
    harness.require_platform()
    rpc = harness.Rpc()
    pool = int(RATE * SOAK_SECONDS * 1.1) + 100
    region, template_id, channels = bench_claims.setup(rpc, pool=pool, clients=CLIENTS)
    harness.wait_quiet()
    harness.wait_machine_quiet()
    numbers = harness.id_numbers(pool, region)
    harness.note(f"soak: {RATE:.0f} claims/s from {CLIENTS} clients for {SOAK_SECONDS:.0f} s, pool {pool}, "
                 f"region {region}; RSS sampled every {SAMPLE:.0f} s")

    samples = []
    sampler = threading.Thread(target=sample_memory, args=(time.time() + 1.0 + SOAK_SECONDS, samples))
    sampler.start()
    load = harness.run_load(channels, numbers, claim_and_look(template_id), processes=1, warmup=0,
                            duration=SOAK_SECONDS, pace=CLIENTS / RATE)
    sampler.join()
    samples.append((samples[-1][0] + SAMPLE, harness.memory_mb()))

    settled = next((mb for at, mb in samples if at >= SETTLED_AFTER), samples[0][1])
    for name in sorted(samples[-1][1]):
        series = [mb[name] for _, mb in samples if name in mb]
        harness.note(f"{name}: RSS {settled.get(name, float('nan')):.0f} MB after {SETTLED_AFTER:.0f} s, "
                     f"{series[-1]:.0f} MB at the end ({series[-1] - settled.get(name, series[0]):+.1f} MB), "
                     f"peak {max(series):.0f} MB")
    harness.note("RSS (MB) over time: " + "; ".join(
        f"{at:.0f} s: " + " ".join(f"{name[:4]} {mb[name]:.0f}" for name in sorted(mb)) for at, mb in samples[::6]))
    created, errors = load.answered(), harness.errors_of(load.window)
    harness.note(f"{len(created)} claims in {SOAK_SECONDS:.0f} s; errors: {errors or 'none'}")
    raw = harness.raw_conditional_update(CLIENTS)
    rpc.close()
    harness.report("soak", ops_per_s=len(created) / SOAK_SECONDS, latencies_ms=[1000 * o[1] for o in created],
                   raw_ops_per_s=raw, errors=sum(errors.values()))


if __name__ == "__main__":
    sys.exit(main())
