"""Reading a bulk event through its consumer's contract: each op is one 1,000-voucher
``vouchers_claimed`` message decoded from JSON and loaded through a contract with
``common.contracts.fast_loader``, as a subscription does, beside the raw limit: decoding the
same message from JSON alone, which any consumer must. On stderr, the same through marshmallow's
``Schema.load`` (what subscriptions did before fast_loader), for each consumer's contract.

    .venv/bin/python bench/bench_contracts.py
    ROUNDS=200 .venv/bin/python bench/bench_contracts.py

Needs no platform: it measures the consumers' own CPU for an event, which the platform
benchmarks see only mixed with everything else. The contract measured in the JSON line is
redemption's (rights for every voucher: UUIDs, timestamps, dates); statistics' is on stderr.
"""
import datetime
import json
import os
import time
import uuid

import harness
from common.contracts import fast_loader
from redemption.schemas import VouchersClaimed as RedemptionContract
from stats.schemas import VouchersClaimed as StatisticsContract

ROUNDS = int(os.environ.get("ROUNDS", 100))
VOUCHERS = 1000


def message():
    """A vouchers_claimed message as issuance's relay publishes one (a targeted class's chunk)."""
    now = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8)))
    terms = {"template_id": str(uuid.uuid4()), "version": 2, "region_code": "433100", "occupation": "6-31-01-03",
             "skill_level": 4, "institution_ids": None, "valid_from": "2026-01-01", "valid_until": "2026-12-31",
             "function": "credit", "distribution": "targeted", "subsidy_standard_fen": 120000,
             "funding_source": "就业补助资金", "name": "电工定向抵用券"}
    vouchers = [{"voucher_id": str(uuid.uuid4()), "code": f"AB{n:08d}", "person_key": f"{n:043d}",
                 "claimed_at": now.isoformat(), "valid_until": "2026-12-31", "subsidy_ratio_percent": 100,
                 "profile": {"age_band": "25-34", "gender": "F", "home_province": "43", "employer_type": "none",
                             "groups": ["unemployed"]}} for n in range(VOUCHERS)]
    return json.dumps({"template": terms, "vouchers": vouchers})


def timed(load, text):
    """Milliseconds per message, ROUNDS times."""
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        load(json.loads(text))
        times.append((time.perf_counter() - started) * 1000)
    return times


def main():
    text = message()
    raw = timed(lambda payload: payload, text)
    for whose, contract in (("statistics'", StatisticsContract), ("redemption's", RedemptionContract)):
        schema = contract()
        assert fast_loader(contract())(json.loads(text)) == schema.load(json.loads(text))
        slow, fast = timed(schema.load, text), timed(fast_loader(contract()), text)
        harness.note(f"{whose} contract, a {VOUCHERS}-voucher vouchers_claimed (JSON decoding included): "
                     f"fast_loader {harness.percentile(fast, 50):.1f} ms, marshmallow's Schema.load "
                     f"{harness.percentile(slow, 50):.1f} ms (p50 of {ROUNDS}); JSON decoding alone "
                     f"{harness.percentile(raw, 50):.1f} ms")
    harness.report("contracts", ops_per_s=1000 * len(fast) / sum(fast), latencies_ms=fast,
                   raw_ops_per_s=1000 * len(raw) / sum(raw), errors=0)


if __name__ == "__main__":
    main()
