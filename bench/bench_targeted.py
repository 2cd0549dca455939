"""Targeted vouchers (定向券) for a whole roster, end to end: from the first issue request
(``POST /v1/classes/{id}/targeted-vouchers``, one per class) until

  (a) persisted:  every issue request has answered 201 (the vouchers are committed);
  (b) delivered:  redemption's region_summary (nameko RPC) counts them all claimed;
  (c) counted:    statistics' region_summary counts them all issued and claimed;

beside a raw PostgreSQL COPY of the same voucher rows into a scratch mirror of issuance's
``vouchers`` table, in the same run (and, on stderr, the same into a mirror of redemption's
``voucher_rights`` and RabbitMQ publishing 1000-voucher events with confirms).

    .venv/bin/python bench/bench_targeted.py
    ROSTER=200000 .venv/bin/python bench/bench_targeted.py

ROSTER (100000) people in classes of CLASS_SIZE (5000, the gateway's roster limit), one
targeted template for them all; ISSUE_CONCURRENCY (2) issue requests in flight at once.
ROSTER_VIA=gateway registers every class with its roster through ``POST /v1/classes``
(about 1.6 s per class of 5000 here, plus the class_registered events' processing);
ROSTER_VIA=copy, the default above 20000 people, registers the classes through the gateway
with an empty roster and COPYs the people and roster rows straight into issuance's database
(persons, roster), protected with this machine's keys as the gateway would protect them.
Set-up is never timed; the output says which way the rosters were made.

ops_per_s: vouchers per second from the first request until both (b) and (c); p50/p99: the
issue requests' latency; raw_ops_per_s: COPY rows per second; errors: requests not answered
201, plus every voucher if (b) or (c) is not reached within TIMEOUT (600 s). The issue's
target: 1,000,000 in under 20 s.
"""
import datetime
import math
import os
import queue
import sys
import threading
import time

import harness

ROSTER = int(os.environ.get("ROSTER", 100_000))
CLASS_SIZE = int(os.environ.get("CLASS_SIZE", 5_000))
ROSTER_VIA = os.environ.get("ROSTER_VIA") or ("gateway" if ROSTER <= 20_000 else "copy")
ISSUE_CONCURRENCY = int(os.environ.get("ISSUE_CONCURRENCY", 2))
TIMEOUT = float(os.environ.get("TIMEOUT", 600))
OCCUPATION, LEVEL = "6-31-01-03", 4


def register_classes(gateway, institution, numbers):
    """One class per CLASS_SIZE people; through the gateway with their roster, or empty."""
    now = datetime.datetime.now(datetime.timezone.utc)
    chunks = [numbers[i:i + CLASS_SIZE] for i in range(0, len(numbers), CLASS_SIZE)]
    class_ids = [None] * len(chunks)
    work = queue.Queue()
    for item in enumerate(chunks):
        work.put(item)

    def register():
        while True:
            try:
                index, chunk = work.get_nowait()
            except queue.Empty:
                return
            class_ids[index] = harness.ok(gateway.post("/v1/classes", {
                "institution_id": institution["institution_id"], "site_id": institution["sites"][0]["site_id"],
                "name": f"电工四级 bench 第{index + 1}期", "occupation": OCCUPATION, "skill_level": LEVEL,
                "sessions": [{"starts_at": (now - datetime.timedelta(minutes=5)).isoformat(),
                              "ends_at": (now + datetime.timedelta(hours=3)).isoformat()}],
                "roster": chunk if ROSTER_VIA == "gateway" else []}))["class_id"]

    threads = [threading.Thread(target=register) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return list(zip(class_ids, chunks))


def copy_rosters(classes):
    """People and roster rows straight into issuance's database, in the form the gateway
    would have sent them (``common.identity.protect`` with this machine's secrets)."""
    import psycopg2

    from common.identity import Sealer, protect
    env = harness.environment("gateway")
    secret, sealer = env["PERSON_KEY_SECRET"], Sealer(env["PII_ENCRYPTION_KEY"])
    people, roster = [], []
    for class_id, numbers in classes:
        for number in numbers:
            p = protect(number, secret, sealer)
            people.append((p["person_key"], p["masked"], sealer.seal(number), p["region_code"], p["birth_year"],
                           p["gender"]))
            roster.append((class_id, p["person_key"]))
    connection = psycopg2.connect(harness.psycopg2_dsn("issuance"))
    with connection, connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_people (LIKE persons INCLUDING DEFAULTS) ON COMMIT DROP")
        columns = "person_key, id_masked, id_sealed, region_code, birth_year, gender"
        cursor.copy_expert(f"COPY bench_people ({columns}) FROM STDIN", harness._tsv(people))
        cursor.execute(f"INSERT INTO persons ({columns}) SELECT {columns} FROM bench_people "
                       "ON CONFLICT (person_key) DO NOTHING")
        cursor.copy_expert("COPY roster (class_id, person_key) FROM STDIN", harness._tsv(roster))
    connection.close()


def _claims_handled(cursor):
    cursor.execute("SELECT count(*) FROM inbox WHERE handler = 'redemption.handle_vouchers_claimed'")
    return cursor.fetchone()[0]


class Watcher:
    """Watches, each in a thread of its own so that a slow answer delays no other:
    redemption's and statistics' region_summary over nameko RPC (the criteria (b) and (c)),
    and, straight from the databases, issuance's outbox backlog and the claim events redemption
    has handled (finer-grained, for the progress line). Times are seconds from ``start``.

    The watcher must not load what it watches: a region_summary counts the region's rights, and
    polling it and a row count every 0.5 s took 4.1 s of PostgreSQL's statement time in a 16 s
    run of 50,000 vouchers (pg_stat_statements). So the summaries are asked for only once every
    request has answered (before that they cannot be complete), and the progress line reads
    redemption's inbox, a few hundred rows."""

    def __init__(self, region, expected, start, interval=0.5):
        self.region, self.expected, self.start, self.interval = region, expected, start, interval
        self.answered = threading.Event()
        self.deadline = start + TIMEOUT
        self.reached = {}  # criterion: (seconds, longest poll in seconds)
        self.samples = []  # (seconds, outbox backlog, claim events redemption handled)
        self.published_at, self.peak_backlog = None, 0
        self._stop = threading.Event()
        self.threads = [threading.Thread(target=self._poll_rpc, args=("redemption",), daemon=True),
                        threading.Thread(target=self._poll_rpc, args=("statistics",), daemon=True),
                        threading.Thread(target=self._poll_databases, daemon=True)]
        for thread in self.threads:
            thread.start()

    def _complete(self, service, summary):
        if service == "statistics":
            return summary["issued"] >= self.expected and summary["claimed"] >= self.expected
        return summary["claimed"] >= self.expected

    def _poll_rpc(self, service):
        self.answered.wait(timeout=TIMEOUT)
        rpc, longest = harness.Rpc(), 0.0
        try:
            while time.perf_counter() < self.deadline:
                asked = time.perf_counter()
                summary = getattr(rpc, service).region_summary(region_code=self.region)
                now = time.perf_counter()
                longest = max(longest, now - asked)
                if self._complete(service, summary):
                    self.reached[service] = (now - self.start, longest)
                    return
                time.sleep(self.interval)
        finally:
            rpc.close()

    def _poll_databases(self):
        import psycopg2
        issuance = psycopg2.connect(harness.psycopg2_dsn("issuance"))
        redemption = psycopg2.connect(harness.psycopg2_dsn("redemption"))
        issuance.autocommit = redemption.autocommit = True
        with redemption.cursor() as cursor:
            before = _claims_handled(cursor)
        try:
            while not self._stop.is_set() and time.perf_counter() < self.deadline:
                with issuance.cursor() as cursor:
                    cursor.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                    backlog = cursor.fetchone()[0]
                with redemption.cursor() as cursor:
                    handled = _claims_handled(cursor) - before
                now = time.perf_counter() - self.start
                self.samples.append((now, backlog, handled))
                self.peak_backlog = max(self.peak_backlog, backlog)
                if self.answered.is_set() and backlog == 0 and self.published_at is None:
                    self.published_at = now
                time.sleep(self.interval)
        finally:
            issuance.close()
            redemption.close()

    def wait(self):
        for thread in self.threads[:2]:
            thread.join()
        self._stop.set()
        self.threads[2].join()


def issue(credentials, template_id, class_ids, results):
    work = queue.Queue()
    for class_id in class_ids:
        work.put(class_id)

    def issuer():
        client = harness.signed(credentials)
        while True:
            try:
                class_id = work.get_nowait()
            except queue.Empty:
                return
            sent = time.perf_counter()
            try:
                response = client.post(f"/v1/classes/{class_id}/targeted-vouchers", {"template_id": template_id})
                status, body = response.status_code, response.json()
            except Exception as exc:
                status, body = 0, {"error": exc.__class__.__name__}
            results.append((sent, time.perf_counter(), status, body.get("issued") if status == 201 else body))

    threads = [threading.Thread(target=issuer) for _ in range(ISSUE_CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main():
    harness.require_platform()
    harness.note(f"databases before the run: {harness.database_sizes()}")
    rpc = harness.Rpc()
    region = harness.fresh_region(rpc)
    rpc.close()
    manager = harness.add_client("manager", region)
    gateway = harness.signed(manager)
    classes = math.ceil(ROSTER / CLASS_SIZE)
    harness.note(f"targeted: {ROSTER} people in {classes} classes of up to {CLASS_SIZE}, region {region}; "
                 f"rosters {'through POST /v1/classes' if ROSTER_VIA == 'gateway' else 'COPYed into issuance (persons, roster); classes through the gateway'}; "
                 f"{ISSUE_CONCURRENCY} issue requests in flight")
    began = time.perf_counter()
    institution = harness.register_institution(gateway, region)
    numbers = harness.id_numbers(ROSTER, region)
    registered = register_classes(gateway, institution, numbers)
    harness.note(f"set-up: {len(registered)} classes registered in {time.perf_counter() - began:.1f} s")
    if ROSTER_VIA == "copy":
        copied = time.perf_counter()
        copy_rosters(registered)
        harness.note(f"set-up: {ROSTER} people protected and COPYed in {time.perf_counter() - copied:.1f} s")
    year = datetime.date.today().year
    template_id = harness.ok(gateway.post("/v1/templates", {
        "region_code": region, "name": "电工定向抵用券 (bench)", "function": "credit", "distribution": "targeted",
        "subsidy_standard_fen": 120000, "occupation": OCCUPATION, "skill_level": LEVEL,
        "funding_source": "就业补助资金", "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31",
        "quantity": ROSTER}))["template_id"]
    harness.wait_quiet()
    harness.wait_machine_quiet()
    harness.note(f"set-up (not timed) took {time.perf_counter() - began:.1f} s")

    meter = harness.CpuMeter()
    before = harness.entrypoint_times()
    results = []
    meter.mark("start")
    start = time.perf_counter()
    watcher = Watcher(region, ROSTER, start)
    issue(manager, template_id, [class_id for class_id, _ in registered], results)
    answered = time.perf_counter() - start
    watcher.answered.set()
    meter.mark("answered")
    after_answers = harness.entrypoint_times()
    watcher.wait()
    meter.mark("end")
    after = harness.entrypoint_times()

    created = [r for r in results if r[2] == 201]
    issued = sum(r[3] for r in created)
    failures = [r for r in results if r[2] != 201]
    delivered, counted = watcher.reached.get("redemption"), watcher.reached.get("statistics")
    end_to_end = max(delivered[0] if delivered else TIMEOUT, counted[0] if counted else TIMEOUT)
    harness.note(f"(a) persisted, every issue request answered 201: {answered:.1f} s ({issued} vouchers in "
                 f"{len(created)} requests, {issued / answered:.0f}/s; {len(failures)} failed"
                 f"{': ' + str(failures[:3]) if failures else ''})")
    harness.note(f"    issuance's outbox all published: {watcher.published_at:.1f} s; peak backlog "
                 f"{watcher.peak_backlog} events" if watcher.published_at is not None
                 else "    issuance's outbox was not published within the timeout")
    for label, reached, service in (("(b) delivered", delivered, "redemption"), ("(c) counted", counted, "statistics")):
        harness.note(f"{label}, {service}.region_summary counts them all: {reached[0]:.1f} s (its slowest answer "
                     f"took {reached[1]:.1f} s)" if reached else
                     f"{label}: {service} did not count them all within {TIMEOUT:.0f} s")
    step = max(1, len(watcher.samples) // 15)
    harness.note("progress (s: issuance's outbox backlog, claim events redemption handled): " +
                 "; ".join(f"{t:.1f}: {b}, {r}" for t, b, r in watcher.samples[::step]))
    harness.note(f"CPU until answered: {meter.describe('start', 'answered')}")
    harness.note(f"CPU after answered: {meter.describe('answered', 'end')}")
    harness.note("server side, until answered: " + harness.describe_entrypoints(before, after_answers, [
        ("gateway", "issue_targeted"), ("issuance", "issue_targeted")]))
    harness.note("server side, whole run: " + harness.describe_entrypoints(before, after, [
        ("redemption", "handle_vouchers_claimed"), ("statistics", "handle_vouchers_claimed"),
        ("statistics", "handle_vouchers_issued")]))

    harness.wait_quiet()
    harness.wait_machine_quiet()
    now = datetime.datetime.now(datetime.timezone.utc)
    rows = harness.voucher_rows(ROSTER, template_id, "claimed", holders=[f"{i:064x}" for i in range(ROSTER)],
                                claimed_at=now.isoformat(), valid_until=f"{year}-12-31")
    raw = harness.copy_rate(rows)
    harness.note(f"raw COPY of {ROSTER} voucher rows into a mirror of issuance's vouchers: {raw:.0f} rows/s "
                 f"({ROSTER / raw:.1f} s)")
    # Redemption writes the same vouchers as rights, each naming its template version: its raw limit.
    rights = [{"voucher_id": row["id"], "code": row["code"], "holder": row["holder"], "region_code": region,
               "template_id": template_id, "template_version": 1, "status": "claimed",
               "claimed_at": row["claimed_at"], "valid_until": row["valid_until"]} for row in rows]
    raw_rights = harness.copy_rate(rights, service="redemption", table="voucher_rights")
    harness.note(f"raw COPY of the same {ROSTER} vouchers into a mirror of redemption's voucher_rights: "
                 f"{raw_rights:.0f} rows/s ({ROSTER / raw_rights:.1f} s)")
    chunk = {"event_id": "00000000-0000-0000-0000-000000000000", "type": "vouchers_claimed", "payload": {
        "template": {"template_id": template_id, "region_code": region, "function": "credit"},
        "vouchers": [{"voucher_id": str(row["id"]), "code": row["code"], "person_key": row["holder"],
                      "claimed_at": row["claimed_at"], "valid_until": row["valid_until"]} for row in rows[:1000]]}}
    published = harness.publish_rate(chunk)
    harness.note(f"raw RabbitMQ publish with confirms of 1000-voucher events: {published:.0f}/s "
                 f"({1000 * published:.0f} vouchers/s)")
    missing = 0 if counted and delivered else ROSTER
    harness.report("targeted", ops_per_s=ROSTER / end_to_end, latencies_ms=[1000 * (r[1] - r[0]) for r in results],
                   raw_ops_per_s=raw, errors=len(failures) + missing)


if __name__ == "__main__":
    sys.exit(main())
