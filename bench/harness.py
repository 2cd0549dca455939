"""What every benchmark shares: the running platform (``make up``'s dev profile), gateway
clients made straight in the gateway's database, a signed HTTP client, generated ID numbers,
percentiles, the one JSON line each benchmark prints, and the raw limits it is compared with:

* ``copy_rate``              PostgreSQL ``COPY`` of rows shaped like a service's table
* ``conditional_update_rate`` PostgreSQL ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)``
                              from N connections, the statement a claim makes
* ``publish_rate``           RabbitMQ publishing with publisher confirms, persistent messages

The raw probes write only to scratch tables in their own database (``vt_bench``) and to a
scratch queue they delete; they never touch a service's tables or queues.

Figures go to stdout as one JSON line per benchmark; everything a human reads to explain
them (CPU per process, server-side time per entrypoint, phases) goes to stderr, prefixed ``#``.

    python bench/harness.py      # exit 0 if the platform's gateway is up, else say how to start it
"""
import datetime
import io
import itertools
import json
import multiprocessing
import os
import random
import re
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

# eventlet announces its maintenance mode when nameko imports it (docs/adr/0001).
warnings.filterwarnings("ignore", category=Warning, module="nameko")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import launcher  # noqa: E402  (scripts/launcher.py: profiles, URLs, each service's environment)

PROFILE = os.environ.get("VT_PROFILE", "dev")
GATEWAY_URL = os.environ.get("GATEWAY_URL") or launcher.url(PROFILE, "gateway")


def processes_of(service):
    """The running processes of ``service``: ``launcher.py up --replicas N`` runs N of each."""
    return [name for name in launcher.running(PROFILE)
            if launcher.service_of(name)[0] == service and launcher.pid_of(PROFILE, name)] or [service]


def platform_processes():
    return [process for service in launcher.SERVICES for process in processes_of(service)]


# The load's clients take the gateways in turn: every replica when the launcher runs several.
GATEWAY_URLS = ([GATEWAY_URL] if os.environ.get("GATEWAY_URL")
                else [launcher.url(PROFILE, name) for name in processes_of("gateway")])
_gateway_turn = itertools.count()
SCRATCH_DB = "vt_bench"
UNLIMITED = 1_000_000  # requests per second: a benchmark client is never throttled


def note(message):
    """Human-readable context for a figure, on stderr."""
    print(f"# {message}", file=sys.stderr, flush=True)


# -- the running platform -----------------------------------------------------------------

def require_platform():
    """Exit with a clear message unless the gateway answers ready."""
    try:
        with urllib.request.urlopen(GATEWAY_URL + "/health/ready", timeout=3) as response:
            if response.status == 200:
                return
    except (urllib.error.URLError, OSError):
        pass
    print(f"The gateway at {GATEWAY_URL} is not up. The benchmarks run against the platform `make up` starts "
          f"(profile {PROFILE}): run `make up`, then `make bench`.", file=sys.stderr)
    sys.exit(2)


def environment(service):
    return launcher.environment(PROFILE, service)


def database_url(service):
    return environment(service)["DATABASE_URL"]


def amqp_uri():
    return environment("gateway")["AMQP_URI"]


def psycopg2_dsn(service_or_database):
    """A libpq DSN for a service's database (by service name) or any database (by name)."""
    if service_or_database in launcher.SERVICES:
        return database_url(service_or_database).replace("postgresql+psycopg2://", "postgresql://")
    pg = launcher.PG
    return f"postgresql://{pg['user']}@{pg['host']}:{pg['port']}/{service_or_database}"


def add_client(role, region_code, institution_id=None, rate_limit=UNLIMITED):
    """A gateway client and its signing key, made as ``gateway-cli add-client`` does."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from common.identity import Sealer
    from gateway.cli import add_client as add
    engine = create_engine(database_url("gateway"))
    try:
        with Session(engine) as session:
            return add(session, Sealer(environment("gateway")["PII_ENCRYPTION_KEY"]),
                       name=f"bench {role} {uuid.uuid4().hex[:6]}", role=role, region_code=region_code,
                       institution_id=institution_id, rate_limit=rate_limit)
    finally:
        engine.dispose()


def signed(credentials):
    """A signing HTTP client of its own (one per thread: a ``requests.Session`` is not shared)."""
    import requests
    from voucher_client import VoucherClient
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=4)
    session.mount("http://", adapter)
    return VoucherClient(GATEWAY_URL, credentials.key_id, credentials.secret, timeout=120, session=session)


class LoadClient:
    """The load generator's client: signed requests over one kept-alive ``http.client``
    connection, about a tenth of ``requests``' CPU per call, so that on this 2-core machine the
    load takes as little as possible from the platform it measures. One per thread.

    ``post(path, body)`` returns ``(status, parsed JSON)``."""

    def __init__(self, credentials):
        from urllib.parse import urlsplit
        url = urlsplit(GATEWAY_URLS[next(_gateway_turn) % len(GATEWAY_URLS)])
        self.host, self.port = url.hostname, url.port or 80
        self.credentials = credentials
        self.connection = None

    def post(self, path, body):
        import http.client
        from voucher_client import signed_headers
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": str(uuid.uuid4()),
                   **signed_headers(self.credentials.key_id, self.credentials.secret, "POST", path, (), data)}
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            if self.connection is None:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.connection.request("POST", path, body=data, headers=headers)
                response = self.connection.getresponse()
                return response.status, json.loads(response.read() or b"null")
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = None
                if attempt == 2:
                    raise


def register_institution(gateway, region):
    """A training institution of ``region`` with one site, through the gateway."""
    from common import credit_codes
    first17 = "9143" + "".join(random.choice(credit_codes.ALPHABET) for _ in range(13))
    return ok(gateway.post("/v1/institutions", {
        "region_code": region, "name": "长沙市职业技能培训学校 (bench)",
        "credit_code": first17 + credit_codes.check_character(first17),
        "sites": [{"name": "芙蓉校区", "address": "长沙市芙蓉区八一路1号", "latitude": 28.1960,
                   "longitude": 112.9823, "radius_m": 150}]}))


def targeted_trainees(gateway, region, institution, count, class_size, label):
    """``count`` new people of ``region`` on rosters of ``class_size`` at the institution's first
    site, a session of each class open now, and a targeted voucher (1,200 yuan credit, electrician
    level 4) for each, through the gateway. Returns (template id, class ids, [(ID number, class id)])."""
    year, now = datetime.date.today().year, datetime.datetime.now(datetime.timezone.utc)
    template_id = ok(gateway.post("/v1/templates", {
        "region_code": region, "name": f"电工定向抵用券 ({label})", "function": "credit", "distribution": "targeted",
        "subsidy_standard_fen": 120000, "occupation": "6-31-01-03", "skill_level": 4, "funding_source": "就业补助资金",
        "valid_from": f"{year}-01-01", "valid_until": f"{year}-12-31", "quantity": count}))["template_id"]
    numbers, class_ids, trainees = id_numbers(count, region), [], []
    for start in range(0, count, class_size):
        roster = numbers[start:start + class_size]
        class_id = ok(gateway.post("/v1/classes", {
            "institution_id": institution["institution_id"], "site_id": institution["sites"][0]["site_id"],
            "name": f"电工四级 {label} 第{start // class_size + 1}期", "occupation": "6-31-01-03", "skill_level": 4,
            "roster": roster, "completion_threshold": 1.0,
            "sessions": [{"starts_at": (now - datetime.timedelta(minutes=5)).isoformat(),
                          "ends_at": (now + datetime.timedelta(hours=3)).isoformat()}]}))["class_id"]
        ok(gateway.post(f"/v1/classes/{class_id}/targeted-vouchers", {"template_id": template_id}))
        class_ids.append(class_id)
        trainees += [(number, class_id) for number in roster]
    return template_id, class_ids, trainees


def ok(response, expected=(200, 201)):
    if response.status_code not in expected:
        raise SystemExit(f"{response.request.method} {response.request.path_url}: {response.status_code} "
                         f"{response.text[:500]}")
    return response.json()


class Rpc:
    """``rpc.statistics.region_summary(region_code=...)`` over one standing connection (one
    thread at a time)."""

    def __init__(self):
        from nameko.standalone.rpc import ClusterRpcProxy
        self._cluster = ClusterRpcProxy({"AMQP_URI": amqp_uri()}, timeout=60)
        self._proxy = self._cluster.start()

    def __getattr__(self, service):
        return getattr(self._proxy, service)

    def close(self):
        self._cluster.stop()


def fresh_region(rpc, rng=random):
    """A Hunan county code that no service counts anything in yet, so that the benchmark's
    region summaries count only what it made."""
    for _ in range(200):
        code = f"43{rng.randrange(1, 99):02d}{rng.randrange(1, 99):02d}"
        statistics = rpc.statistics.region_summary(region_code=code)
        if not any(rpc.issuance.region_summary(region_code=code).values()) and not any(
                rpc.redemption.region_summary(region_code=code).values()) and not any(
                statistics[key] for key in ("issued", "claimed", "used", "settled")):
            return code
    raise SystemExit("no unused county code found in 43xxxx")


_DAYS = 365 * 35


def id_numbers(count, region, rng=random):
    """``count`` distinct, valid resident ID numbers (GB 11643) of people registered in ``region``
    (the run's fresh county, so that no earlier run has the same people), born 1970-2004, drawn
    without replacement."""
    from common.identity import check_character
    epoch = datetime.date(1970, 1, 1)
    numbers = []
    for index in rng.sample(range(_DAYS * 1000), count):
        day, serial = divmod(index, 1000)
        body = f"{region}{epoch + datetime.timedelta(days=day):%Y%m%d}{serial:03d}"
        numbers.append(body + check_character(body))
    return numbers


def unsent_events(services=tuple(launcher.SERVICES)):
    """Events committed but not yet published, per service (the outbox backlog)."""
    import psycopg2
    from common.outbox import UNSENT
    backlog = {}
    for service in services:
        with psycopg2.connect(psycopg2_dsn(service)) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM ({UNSENT}) AS unsent")
            backlog[service] = cursor.fetchone()[0]
        connection.close()
    return backlog


def queue_depths():
    import subprocess
    vhost = launcher.PROFILES[PROFILE]["vhost"]
    listing = subprocess.run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "messages",
                              "--no-table-headers"], capture_output=True, text=True, check=True).stdout
    depths = {}
    for line in listing.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths


def wait_quiet(timeout=300):
    """Until every outbox is published and every consumer queue (but parking ones) is empty,
    so that a measurement does not pay for the work of its set-up; then autovacuum's work, where
    this machine's PostgreSQL does not do it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        backlog = {k: v for k, v in unsent_events().items() if v}
        busy = {q: n for q, n in queue_depths().items() if n and not q.endswith(".dead") and not q.startswith("rpc")}
        if not backlog and not busy:
            vacuum_unless_autovacuum()
            return
        time.sleep(0.5)
    raise SystemExit(f"the platform did not go quiet within {timeout}s: outbox {backlog}, queues {busy}")


def vacuum_unless_autovacuum():
    """This machine's PostgreSQL runs with autovacuum off (``conf.d/90-ci.conf``). Without it the
    tables a set-up has just filled are never analysed, and the planner picks plans a production
    database would not: claims over 360,000 vouchers ran at 347/s instead of 533/s, issuance's
    claim-rule query reading 7,000 blocks a call instead of 70. Where it is off, do what it would
    have done by now."""
    import psycopg2
    for service in launcher.SERVICES:
        connection = psycopg2.connect(psycopg2_dsn(service))
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SHOW autovacuum")
            if cursor.fetchone()[0] == "off":
                cursor.execute("VACUUM (ANALYZE)")
        connection.close()


def machine_busy(seconds=1.0):
    """Percent of all CPUs busy over ``seconds``."""
    before = _machine()
    time.sleep(seconds)
    after = _machine()
    total = sum(after.values()) - sum(before.values())
    return 100 * (1 - (after["idle"] - before["idle"]) / max(total, 1e-9))


def vouchers_of(template_id, class_ids):
    """(voucher id, code, holder's person key, class id) of each voucher of a targeted template
    issued to the rosters of ``class_ids``."""
    import psycopg2
    with psycopg2.connect(psycopg2_dsn("issuance")) as connection, connection.cursor() as cursor:
        cursor.execute("""SELECT DISTINCT ON (v.code) v.id, v.code, v.holder, r.class_id
                          FROM vouchers v JOIN roster r ON r.person_key = v.holder
                          WHERE v.template_id = %s AND r.class_id = ANY(%s::uuid[]) ORDER BY v.code""",
                       (template_id, class_ids))
        rows = [(str(voucher_id), code, holder, str(class_id)) for voucher_id, code, holder, class_id
                in cursor.fetchall()]
    connection.close()
    return rows


def used_twice(region, codes):
    """Uses answered 201 more than once, or more or fewer than redemption recorded in the region."""
    import psycopg2
    with psycopg2.connect(psycopg2_dsn("redemption")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM voucher_rights WHERE region_code = %s AND status = 'used'", (region,))
        recorded = cursor.fetchone()[0]
    connection.close()
    return (len(codes) - len(set(codes))) + abs(recorded - len(set(codes)))


def wait_counted(rpc, region, name, expected, timeout=120.0):
    """When statistics' region_summary first counts ``expected`` of ``name`` (perf_counter), or None."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if rpc.statistics.region_summary(region_code=region)[name] >= expected:
            return time.perf_counter()
        time.sleep(0.2)
    return None


def database_sizes():
    """What the platform's databases hold before a run: the same code is slower over a bigger
    database (on this machine PostgreSQL keeps 128 MB in its buffers), so every run says."""
    import psycopg2
    sizes = []
    with psycopg2.connect(psycopg2_dsn("issuance")) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT count(*), pg_database_size(current_database()) FROM vouchers")
        vouchers, size = cursor.fetchone()
    connection.close()
    sizes.append(f"issuance {size / 2**20:.0f} MB ({vouchers} vouchers)")
    for service in ("redemption", "statistics"):
        with psycopg2.connect(psycopg2_dsn(service)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            sizes.append(f"{service} {cursor.fetchone()[0] / 2**20:.0f} MB")
        connection.close()
    return ", ".join(sizes)


def wait_machine_quiet(threshold=15.0, timeout=60.0):
    """Wait (up to ``timeout``) until the machine is nearly idle before measuring, and say so
    if it never is: on two cores, anything else running (a test suite, another platform)
    takes its share from the platform under measurement."""
    deadline = time.monotonic() + timeout
    busy = machine_busy()
    while busy > threshold and time.monotonic() < deadline:
        busy = machine_busy(2.0)
    if busy > threshold:
        note(f"WARNING: the machine is {busy:.0f}% busy before the measurement (another workload is running): "
             "the figures below are lower than this platform can do on a quiet machine")
    return busy


# -- figures ------------------------------------------------------------------------------

def percentile(values, p):
    """The p-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class LoadRun:
    """What ``run_load`` saw: when the first request could go (wall clock); every request as
    ``(sent, seconds, status, label)``, warm-up included; those sent in the measured window; the
    seconds from the window's start to its last answer; CPU per process and each entrypoint's
    times at the window's ends."""
    started: float
    outcomes: list
    window: list
    elapsed: float
    cpu: str
    before: dict
    after: dict

    def answered(self, status=201):
        return [o for o in self.window if o[2] == status]


def run_load(clients, items, send, *, processes, warmup, duration, pace=None, stop_when=None):
    """The load of a benchmark, from ``processes`` forked processes (a thread and a kept-alive
    ``LoadClient`` per client in ``clients``): item ``i`` of ``items`` is sent by client
    ``i % len(clients)``, as ``send(client, item) -> (status, label)``, until the warm-up and the
    measured ``duration`` are over or the client has no items left. A request that raises counts
    as status 0. ``pace``: seconds between one client's requests (else as fast as answered);
    ``stop_when(label)``: true ends the process's every client (a pool that ran out)."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 1.0
    measure_from, end_at = start_at + warmup, start_at + warmup + duration
    shares = [(credentials, items[i::len(clients)]) for i, credentials in enumerate(clients)]
    workers = [context.Process(target=_load_process, args=(
        shares[p::processes], send, start_at, end_at, pace, stop_when, results)) for p in range(processes)]
    for worker in workers:
        worker.start()
    meter = CpuMeter(extra_pids=[worker.pid for worker in workers])
    time.sleep(max(0.0, measure_from - time.time()))
    meter.mark("start")
    before = entrypoint_times()
    time.sleep(max(0.0, end_at - time.time()))
    meter.mark("end")
    after = entrypoint_times()
    outcomes = [outcome for _ in workers for outcome in results.get()]
    for worker in workers:
        worker.join()
    window = [o for o in outcomes if measure_from <= o[0] < end_at]
    elapsed = min(end_at, max(o[0] + o[1] for o in window)) - measure_from if window else duration
    return LoadRun(start_at, outcomes, window, elapsed, meter.describe("start", "end"), before, after)


def _load_process(shares, send, start_at, end_at, pace, stop_when, results):
    stopped, mine = threading.Event(), []

    def client_loop(credentials, own):
        client = LoadClient(credentials)
        while time.time() < start_at:
            time.sleep(0.001)
        due = time.time()
        for item in own:
            if time.time() >= end_at or stopped.is_set():
                break
            sent = time.time()
            try:
                status, label = send(client, item)
            except Exception as exc:  # a connection refused or reset counts as an error, and goes on
                status, label = 0, exc.__class__.__name__
            mine.append((sent, time.time() - sent, status, label))
            if stop_when is not None and stop_when(label):
                stopped.set()
            if pace:
                due += pace
                time.sleep(max(0.0, due - time.time()))

    threads = [threading.Thread(target=client_loop, args=share) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(mine)


def errors_of(outcomes):
    """{"<status> <error code>": how many} of the outcomes ``(sent, seconds, status, code)`` not answered 201."""
    errors = {}
    for _, _, status, code in (o[:4] for o in outcomes):
        if status != 201:
            errors[f"{status} {code}"] = errors.get(f"{status} {code}", 0) + 1
    return errors


def report(bench, *, ops_per_s, latencies_ms=(), raw_ops_per_s, errors, p50_ms=None, p99_ms=None):
    """The benchmark's one JSON line, on stdout. The percentiles are those of ``latencies_ms``
    unless given (estimated from a histogram's buckets, ``histogram_quantile``)."""
    def figure(value):  # null, not NaN, when nothing succeeded
        return round(value, 1) if value is not None and value == value else None
    line = {"bench": bench, "ops_per_s": round(ops_per_s, 1),
            "p50_ms": figure(percentile(latencies_ms, 50) if p50_ms is None else p50_ms),
            "p99_ms": figure(percentile(latencies_ms, 99) if p99_ms is None else p99_ms),
            "raw_ops_per_s": round(raw_ops_per_s, 1),
            "ratio": round(ops_per_s / raw_ops_per_s, 4) if raw_ops_per_s else None, "errors": errors}
    print(json.dumps(line), flush=True)
    if os.environ.get("BENCH_RESULTS"):  # make bench collects the lines for docs/performance.md
        with open(os.environ["BENCH_RESULTS"], "a") as results:
            results.write(json.dumps(line) + "\n")
    return line


# -- where the time goes: CPU per process, server-side time per entrypoint -------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(ppid, own CPU seconds, reaped children's CPU seconds) of a process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS,  # utime, stime
                (int(fields[13]) + int(fields[14])) / _TICKS)  # cutime, cstime
    except (OSError, IndexError, ValueError):
        return None


def _processes_named(name):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as comm:
                    if comm.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _machine():
    """Seconds of user, system (with irq, softirq), idle (with iowait) and steal, all CPUs."""
    with open("/proc/stat") as stat:
        v = [int(x) / _TICKS for x in stat.readline().split()[1:]]
    return {"user": v[0] + v[1], "system": v[2] + v[5] + v[6], "idle": v[3] + v[4], "steal": v[7]}


class CpuMeter:
    """CPU time of each platform process, PostgreSQL (every backend, and those that exited
    meanwhile through the postmaster's reaped-children time), RabbitMQ and this benchmark
    between ``mark`` calls: on two cores, a service near 100% of one core (an eventlet
    service runs its Python on one thread) is the bottleneck."""

    def __init__(self, extra_pids=()):
        self.extra_pids = list(extra_pids)
        self.marks = {}

    def _sample(self):
        pids = {name: [launcher.pid_of(PROFILE, process) for process in processes_of(name)]
                for name in launcher.SERVICES}
        pids["postgres"] = _processes_named("postgres")
        pids["rabbitmq"] = _processes_named("beam.smp")
        pids["bench"] = [os.getpid(), *self.extra_pids]
        sample, reaped = {}, 0.0
        for name, members in pids.items():
            sample[name] = {}
            for pid in filter(None, members):
                stat = _stat(pid)
                if stat is not None:
                    sample[name][pid] = stat[1]
                    if name == "postgres" and stat[0] not in pids["postgres"]:  # the postmaster
                        reaped = stat[2]
        return time.monotonic(), sample, reaped, _machine()

    def mark(self, label):
        self.marks[label] = self._sample()

    def shares(self, start_label, end_label):
        """({component: percent of one core}, {user/system/idle/steal: percent of the machine}, wall s)."""
        (t0, s0, reaped0, m0), (t1, s1, reaped1, m1) = self.marks[start_label], self.marks[end_label]
        wall = max(t1 - t0, 1e-9)
        shares = {}
        for name, members in s1.items():
            before = s0.get(name, {})
            used = sum(seconds - before.get(pid, 0.0) for pid, seconds in members.items())
            if name == "postgres":
                # Backends that exited meanwhile: the postmaster reaped their whole lifetime's CPU,
                # of which the part before the start mark was not ours.
                gone = sum(seconds for pid, seconds in before.items() if pid not in members)
                used += (reaped1 - reaped0) - gone
            shares[name] = 100 * max(used, 0.0) / wall
        total = sum(m1.values()) - sum(m0.values())
        machine = {k: 100 * (m1[k] - m0[k]) / max(total, 1e-9) for k in m1}
        return shares, machine, wall

    def describe(self, start_label, end_label):
        """``"issuance 47%, gateway 22%, ... of one core; machine 98% busy ..."``."""
        shares, machine, wall = self.shares(start_label, end_label)
        cores = os.cpu_count()
        attributed = sum(shares.values())
        busy = 100 - machine["idle"]
        ordered = sorted(((n, v) for n, v in shares.items() if v >= 0.5), key=lambda x: -x[1])
        return (f"{', '.join(f'{name} {share:.0f}%' for name, share in ordered)} of one core "
                f"(others {max(0.0, busy * cores - attributed):.0f}%); machine {busy:.0f}% busy of {cores} cores "
                f"(user {machine['user']:.0f}%, system {machine['system']:.0f}%, steal {machine['steal']:.0f}%) "
                f"over {wall:.1f} s")


_SAMPLE = re.compile(r'^entrypoint_latency_seconds_(sum|count)\{entrypoint="([^"]+)",service="([^"]+)"\} (\S+)$')


def entrypoint_times():
    """``{(service, entrypoint): (seconds, calls)}`` from every service's /metrics."""
    totals = {}
    for name in platform_processes():
        try:
            with urllib.request.urlopen(launcher.url(PROFILE, name, "/metrics"), timeout=5) as response:
                text = response.read().decode()
        except (urllib.error.URLError, OSError):
            continue
        for line in text.splitlines():  # replicas of a service add up
            match = _SAMPLE.match(line)
            if match:
                kind, entrypoint, service, value = match.groups()
                seconds, calls = totals.get((service, entrypoint), (0.0, 0))
                totals[(service, entrypoint)] = ((seconds + float(value), calls) if kind == "sum"
                                                 else (seconds, calls + int(float(value))))
    return totals


def describe_entrypoints(before, after, entrypoints):
    """Mean server-side time of each named entrypoint between two ``entrypoint_times``."""
    parts = []
    for key in entrypoints:
        seconds = after.get(key, (0, 0))[0] - before.get(key, (0, 0))[0]
        calls = after.get(key, (0, 0))[1] - before.get(key, (0, 0))[1]
        if calls > 0:  # a service restarted meanwhile starts its counters again
            parts.append(f"{key[0]}.{key[1]} {1000 * seconds / calls:.1f} ms mean over {calls}")
    return "; ".join(parts) or "no calls recorded"


_SERIES = re.compile(r'^(\w+?)(_bucket|_count|_sum)\{(.*)\} (\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def histogram(service, metric):
    """A Prometheus histogram on a service's /metrics, as it is now: ``{labels: {"buckets": {upper
    bound: cumulative count}, "count": n, "sum": s}}``, ``labels`` a tuple of sorted (name, value)
    pairs without ``le``; ``{}`` if the service does not expose it (or is not up)."""
    try:
        with urllib.request.urlopen(launcher.url(PROFILE, service, "/metrics"), timeout=5) as response:
            text = response.read().decode()
    except (urllib.error.URLError, OSError):
        return {}
    series = {}
    for line in text.splitlines():
        match = _SERIES.match(line)
        if not match or match.group(1) != metric:
            continue
        _, kind, labels, value = match.groups()
        pairs = dict(_LABEL.findall(labels))
        bound = pairs.pop("le", None)
        entry = series.setdefault(tuple(sorted(pairs.items())), {"buckets": {}, "count": 0.0, "sum": 0.0})
        if kind == "_bucket":
            entry["buckets"][float(bound)] = float(value)  # "+Inf" is float("inf")
        else:
            entry[kind[1:]] = float(value)
    return series


def histogram_delta(before, after, **match):
    """The observations between two ``histogram`` snapshots, summed over the series whose labels
    include ``match`` (a series that restarted meanwhile counts from zero):
    ``{"buckets": ..., "count": ..., "sum": ...}``."""
    total = {"buckets": {}, "count": 0.0, "sum": 0.0}
    for labels, now in after.items():
        if not set(match.items()) <= set(labels):
            continue
        then = before.get(labels)
        if then is None or then["count"] > now["count"]:
            then = {"buckets": {}, "count": 0.0, "sum": 0.0}
        for bound, count in now["buckets"].items():
            total["buckets"][bound] = total["buckets"].get(bound, 0.0) + count - then["buckets"].get(bound, 0.0)
        total["count"] += now["count"] - then["count"]
        total["sum"] += now["sum"] - then["sum"]
    return total


def histogram_quantile(q, buckets):
    """The q-quantile (0-1) of cumulative ``buckets`` ({upper bound: count}) as Prometheus's
    ``histogram_quantile`` estimates it: linear within the bucket that holds the rank, from 0
    for the first; in the +Inf bucket, the largest finite bound. NaN without observations."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return float("nan")
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower
            return lower + (bound - lower) * ((rank - below) / (count - below) if count > below else 0.0)
        lower, below = bound, count
    return lower


def dead_letters(service):
    """Messages parked in ``service``'s dead-letter queues now (every event handler has one)."""
    return sum(depth for queue, depth in queue_depths().items()
               if queue.endswith(".dead") and f"--{service}." in queue)


# -- raw limits -----------------------------------------------------------------------------

def _scratch_connection():
    import psycopg2
    admin = psycopg2.connect(psycopg2_dsn("postgres"))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (SCRATCH_DB,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{SCRATCH_DB}"')
    admin.close()
    return psycopg2.connect(psycopg2_dsn(SCRATCH_DB))


def mirror_table(service, table, connection):
    """Create in the scratch database a table with the columns, defaults, indexes and
    constraints of ``service``'s ``table`` as they are now (a foreign key points to a
    scratch parent holding only its key). Returns (scratch name, {fk columns: parent name}, columns)."""
    import psycopg2
    name = f"bench_{table}_{uuid.uuid4().hex[:8]}"
    with psycopg2.connect(psycopg2_dsn(service)) as source, source.cursor() as cursor:
        cursor.execute("""
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""", (table,))
        columns = cursor.fetchall()
        cursor.execute("""SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint
                          WHERE conrelid = %s::regclass""", (table,))
        constraints = cursor.fetchall()
        cursor.execute("""SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = %s
                          AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)""",
                       (table, table))
        indexes = [row[0] for row in cursor.fetchall()]
    source.close()
    parents, statements, definitions = {}, [], []
    for column, type_, not_null, default in columns:
        definitions.append(f'"{column}" {type_}{" NOT NULL" if not_null else ""}'
                           f'{f" DEFAULT {default}" if default and "nextval" not in default else ""}')
    for conname, contype, definition in constraints:
        if contype == "f":
            keys = tuple(re.match(r"FOREIGN KEY \(([^)]+)\)", definition).group(1).replace(" ", "").split(","))
            parent = f"{name}_{'_'.join(keys)}_parent"
            types = [next(t for c, t, *_ in columns if c == key) for key in keys]
            quoted = ", ".join(f'"{key}"' for key in keys)
            statements.append(f'CREATE TABLE "{parent}" ({", ".join(f"{k} {t}" for k, t in zip(keys, types))}, '
                              f'PRIMARY KEY ({quoted}))')
            definitions.append(f'FOREIGN KEY ({quoted}) REFERENCES "{parent}" ({quoted})')
            parents[keys] = parent
        elif contype in ("p", "u", "c"):
            definitions.append(definition)
    statements.append(f'CREATE TABLE "{name}" ({", ".join(definitions)})')
    for index in indexes:
        statements.append(re.sub(r" ON (public\.)?\w+ ", f' ON "{name}" ', index.replace(
            "INDEX ", f"INDEX {name}_", 1), count=1))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    connection.commit()
    return name, parents, [column for column, *_ in columns]


def drop_scratch(connection, name, parents):
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{name}"')
        for parent in parents.values():
            cursor.execute(f'DROP TABLE IF EXISTS "{parent}"')
    connection.commit()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _field(value):
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()  # bytea hex input, its backslash escaped for COPY
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    return str(value).translate(_ESCAPES)


def _tsv(rows):
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(_field(value) for value in row))
        buffer.write("\n")
    buffer.seek(0)
    return buffer


def voucher_rows(count, template_id, status, holders=None, claimed_at=None, valid_until=None):
    """Rows shaped like those issuance inserts into ``vouchers``."""
    from common import codes
    return [{"id": uuid.uuid4(), "code": codes.new_code(), "template_id": template_id, "template_version": 1,
             "status": status, "holder": holders[i] if holders else None, "claimed_at": claimed_at,
             "valid_until": valid_until} for i in range(count)]


def _copy(cursor, table, columns, rows):
    """``COPY table (the row keys the table has) FROM STDIN``."""
    keys = [key for key in rows[0] if key in columns]
    cursor.copy_expert(f'COPY "{table}" ({", ".join(keys)}) FROM STDIN', _tsv([[row[k] for k in keys] for row in rows]))


def fill_parents(cursor, parents, rows):
    """Every key the rows refer to, in the scratch parents, so that the foreign keys hold."""
    for keys, parent in parents.items():
        for values in {tuple(str(row[key]) for key in keys) for row in rows}:
            cursor.execute(f'INSERT INTO "{parent}" VALUES ({", ".join(["%s"] * len(keys))})', values)


def copy_rate(rows, service="issuance", table="vouchers"):
    """Rows per second of one ``COPY ... FROM STDIN`` (and its commit) of ``rows`` (dicts)
    into a scratch mirror of ``service``'s ``table``: the raw limit of persisting them."""
    connection = _scratch_connection()
    name, parents, columns = mirror_table(service, table, connection)
    try:
        with connection.cursor() as cursor:
            fill_parents(cursor, parents, rows)
        connection.commit()
        keys = [key for key in rows[0] if key in columns]
        data = _tsv([[row[k] for k in keys] for row in rows])
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.copy_expert(f'COPY "{name}" ({", ".join(keys)}) FROM STDIN', data)
        connection.commit()
        return len(rows) / (time.perf_counter() - started)
    finally:
        drop_scratch(connection, name, parents)
        connection.close()


CLAIM = """UPDATE "{table}" SET status = 'claimed', holder = %s, claimed_at = now()
           WHERE id = (SELECT id FROM "{table}" WHERE template_id = %s AND status = 'issued'
                       LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING id, code"""


def conditional_update_rate(concurrency, duration=5.0, pool=60_000):
    """Claims per second when ``concurrency`` connections each run the claim's conditional
    UPDATE (one statement, one commit) against a scratch mirror of issuance's vouchers
    holding ``pool`` unclaimed vouchers of one template. Returns (rate, latencies in ms)."""
    import psycopg2
    connection = _scratch_connection()
    name, parents, columns = mirror_table("issuance", "vouchers", connection)
    template_id = uuid.uuid4()
    try:
        with connection.cursor() as cursor:
            rows = voucher_rows(pool, template_id, "issued")
            fill_parents(cursor, parents, rows)
            _copy(cursor, name, columns, rows)
            cursor.execute(f'ANALYZE "{name}"')
        connection.commit()
        statement = CLAIM.format(table=name)
        start = threading.Barrier(concurrency + 1)
        counts, latencies, exhausted = [0] * concurrency, [[] for _ in range(concurrency)], threading.Event()
        deadline = [0.0]

        def claimant(index):
            own = psycopg2.connect(psycopg2_dsn(SCRATCH_DB))
            own.autocommit = True
            cursor = own.cursor()
            start.wait()
            while time.perf_counter() < deadline[0] and not exhausted.is_set():
                began = time.perf_counter()
                cursor.execute(statement, (uuid.uuid4().hex + uuid.uuid4().hex, str(template_id)))
                if cursor.fetchone() is None:
                    exhausted.set()
                    break
                latencies[index].append(1000 * (time.perf_counter() - began))
                counts[index] += 1
            own.close()

        threads = [threading.Thread(target=claimant, args=(i,)) for i in range(concurrency)]
        for thread in threads:
            thread.start()
        deadline[0] = time.perf_counter() + duration
        began = time.perf_counter()
        start.wait()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        if exhausted.is_set():
            note(f"raw conditional update: the scratch pool of {pool} ran out after {elapsed:.1f} s")
        return sum(counts) / elapsed, [x for per in latencies for x in per]
    finally:
        drop_scratch(connection, name, parents)
        connection.close()


def gateway_floor(clients, path, *, processes, duration=8.0):
    """The gateway's own ceiling for a signed command: POSTs of an empty body to ``path``, refused
    (400) once the signature, the nonce and the Idempotency-Key are checked, before any service is
    called. Returns (answers a second, CPU per process)."""
    def refused(client, _):
        status, answer = client.post(path, {})
        return status, (answer or {}).get("error")
    wait_machine_quiet()
    load = run_load(clients, range(5000 * int(duration + 2)), refused, processes=processes, warmup=1.0,
                    duration=duration)
    return len(load.answered(400)) / load.elapsed, load.cpu


def raw_conditional_update(concurrency, duration=5.0):
    """``conditional_update_rate`` on a quiet platform and machine, said on stderr; the rate."""
    wait_quiet()
    wait_machine_quiet()
    rate, latencies = conditional_update_rate(concurrency, duration)
    note(f"raw conditional UPDATE, {concurrency} connections: {rate:.0f}/s, p50 {percentile(latencies, 50):.1f} ms, "
         f"p99 {percentile(latencies, 99):.1f} ms")
    return rate


def publish_rate(body, duration=3.0, max_messages=100_000):
    """Messages per second published one at a time with publisher confirms, persistent, to a
    durable scratch queue (deleted afterwards; ``x-expires`` removes it should we die first):
    what the outbox relay does per event."""
    from kombu import Connection, Producer, Queue
    name = f"bench.scratch.{uuid.uuid4().hex[:8]}"
    with Connection(amqp_uri(), transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        queue = Queue(name, durable=True, auto_delete=False, queue_arguments={"x-expires": 300_000})(channel)
        queue.declare()
        try:
            producer = Producer(channel, routing_key=name, serializer="json")
            sent, started = 0, time.perf_counter()
            deadline = started + duration
            while time.perf_counter() < deadline and sent < max_messages:
                producer.publish(body, delivery_mode=2)
                sent += 1
            return sent / (time.perf_counter() - started)
        finally:
            queue.delete()


# -- memory, and the record of a run ---------------------------------------------------------

def memory_mb(field="VmRSS"):
    """Each platform process's ``field`` of /proc/<pid>/status in MB: ``VmRSS`` now, ``VmHWM``
    its peak since it started."""
    found = {}
    for name in platform_processes():
        pid = launcher.pid_of(PROFILE, name)
        try:
            with open(f"/proc/{pid}/status") as status:
                kb = next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
            found[name] = kb / 1024
        except (OSError, StopIteration, TypeError):
            pass
    return found


def machine_description():
    with open("/proc/cpuinfo") as cpuinfo:
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    with open("/proc/meminfo") as meminfo:
        total_gb = int(meminfo.readline().split()[1]) / 1024 ** 2
    return f"{os.cpu_count()} cores ({model}), {total_gb:.0f} GB RAM, Linux {os.uname().release}"


def record(results_path, document=ROOT / "docs" / "performance.md"):
    """Append a run's JSON lines, the machine and each service's peak RSS to the document."""
    lines = Path(results_path).read_text().strip()
    peaks = memory_mb("VmHWM")
    now = datetime.datetime.now().astimezone()
    section = (f"\n### `make bench`, {now:%Y-%m-%d %H:%M %Z}\n\n{machine_description()}; each service's peak "
               "RSS since `make up` (VmHWM): " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in peaks.items())
               + ".\n\n```json\n" + lines + "\n```\n")
    with open(document, "a") as out:
        out.write(section)
    print(f"# appended to {document}: {len(lines.splitlines())} lines", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:2] == ["record"]:  # make bench, after the benchmarks: python bench/harness.py record FILE
        record(sys.argv[2])
        sys.exit(0)
    require_platform()
    print(f"platform up at {GATEWAY_URL} (profile {PROFILE})", file=sys.stderr)
