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
import multiprocessing
import os
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


def load(channels, template_id, numbers, end_at, results):
    """One process: a thread per client, each paced at RATE / CLIENTS claims a second."""
    mine, interval = [], len(channels) / RATE

    def client_loop(credentials, own):
        client = harness.LoadClient(credentials)
        due = time.time()
        for index, number in enumerate(own):
            if time.time() >= end_at:
                break
            sent = time.time()
            try:
                status, answer = client.post("/v1/claims", {"template_id": template_id, "id_number": number})
                code = answer.get("error") if status != 201 else None
                if index % 10 == 0:
                    client.post("/v1/vouchers/holder-query", {"id_number": number})
            except Exception as exc:  # counted as an error; the soak goes on
                status, code = 0, exc.__class__.__name__
            mine.append((sent, time.time() - sent, status, code))
            due += interval
            time.sleep(max(0.0, due - time.time()))

    threads = [threading.Thread(target=client_loop, args=(credentials, numbers[i::len(channels)]))
               for i, credentials in enumerate(channels)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(mine)


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

    context = multiprocessing.get_context("fork")
    results = context.Queue()
    started = time.time()
    end_at = started + SOAK_SECONDS
    process = context.Process(target=load, args=(channels, template_id, numbers, end_at, results))
    process.start()
    samples = []  # (seconds since start, {service: MB})
    while time.time() < end_at:
        samples.append((time.time() - started, harness.memory_mb()))
        time.sleep(SAMPLE)
    outcomes = results.get()
    process.join()
    samples.append((time.time() - started, harness.memory_mb()))

    settled = next((mb for at, mb in samples if at >= SETTLED_AFTER), samples[0][1])
    for name in sorted(samples[-1][1]):
        series = [mb[name] for _, mb in samples if name in mb]
        harness.note(f"{name}: RSS {settled.get(name, float('nan')):.0f} MB after {SETTLED_AFTER:.0f} s, "
                     f"{series[-1]:.0f} MB at the end ({series[-1] - settled.get(name, series[0]):+.1f} MB), "
                     f"peak {max(series):.0f} MB")
    harness.note("RSS (MB) over time: " + "; ".join(
        f"{at:.0f} s: " + " ".join(f"{name[:4]} {mb[name]:.0f}" for name in sorted(mb)) for at, mb in samples[::6]))
    created = [o for o in outcomes if o[2] == 201]
    errors = harness.errors_of(outcomes)
    harness.note(f"{len(created)} claims in {SOAK_SECONDS:.0f} s; errors: {errors or 'none'}")
    raw = harness.raw_conditional_update(CLIENTS)
    rpc.close()
    harness.report("soak", ops_per_s=len(created) / SOAK_SECONDS, latencies_ms=[1000 * o[1] for o in created],
                   raw_ops_per_s=raw, errors=sum(errors.values()))


if __name__ == "__main__":
    sys.exit(main())
