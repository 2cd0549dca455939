"""Operator tools for a running platform: its databases and RabbitMQ virtual host.

    python scripts/ops.py invariants 430102 [--outbox-age 60]    exit code 1 if any is violated
    python scripts/ops.py dead-letters list [--service statistics]
    python scripts/ops.py dead-letters show QUEUE [--limit 20]
    python scripts/ops.py dead-letters replay QUEUE (--event-id ID | --all)

Each takes ``--profile dev|test`` (by default $VT_PROFILE, else dev: the platform ``make up`` started).

``invariants`` reads every service's database (read-only, one connection each) and checks what
must hold for a region across them. The checks that compare two services hold once every event
is delivered: on a busy platform, look again before raising an alarm. Only counts and ids are
printed, never a person.
"""
import argparse
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import psycopg2
from kombu import Connection, Queue

sys.path.insert(0, str(Path(__file__).resolve().parent))
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # nameko imports it; ADR 0001
import launcher  # noqa: E402  (scripts/launcher.py)

from common import regions  # noqa: E402
from common.events import ATTEMPTS_HEADER, queue_names, subscriptions_of  # noqa: E402
from common.metrics import queue_depths  # noqa: E402
from common.outbox import UNSENT  # noqa: E402
from settlement.domain.ledger import MOVEMENTS  # noqa: E402
from stats.domain.monthly import COUNTS  # noqa: E402

EXAMPLES = 3  # ids shown per kind of violation


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str


# -- invariants -------------------------------------------------------------------------

def check(profile, region_code, outbox_age=60):
    """Every invariant of the region, in order, as a list of ``Result``."""
    if not regions.is_valid(region_code):
        raise ValueError(f"{region_code!r} is not a region code (six digits)")
    like = regions.like_pattern(region_code)
    connections = {name: _connect(profile, name) for name in launcher.SERVICES}
    try:
        db = {name: connection.cursor() for name, connection in connections.items()}
        for cursor in db.values():
            cursor.execute("SELECT 1")  # every database's snapshot taken at nearly the same moment
        counts = _counts(db, like)
        return [voucher_states(db, like), rights_agree(db, like), ordered_counts(counts),
                settled_subset_of_used(db, like), ledger_balances(db["settlement"], like),
                statistics_match_sources(db["statistics"], like, counts), outbox_drained(db, outbox_age)]
    finally:
        for connection in connections.values():
            connection.close()


def _connect(profile, service):
    # One snapshot per database, so that a pool and its entries are read at the same moment.
    connection = psycopg2.connect(launcher.environment(profile, service)["DATABASE_URL"].replace("+psycopg2", ""))
    connection.set_session(isolation_level="REPEATABLE READ", readonly=True)
    return connection


def _problems(cursor, rows, params):
    """{problem: (how many, a few ids)} of a query yielding ``(ref, problem)`` per row, the
    problem NULL where all is well: counted by the database, never row by row here."""
    cursor.execute(f"""
        SELECT problem, count(*), (array_agg(ref::text ORDER BY ref::text))[1:{EXAMPLES}]
        FROM ({rows}) AS found WHERE problem IS NOT NULL GROUP BY problem ORDER BY problem""", params)
    return {problem: (n, examples) for problem, n, examples in cursor.fetchall()}


def _result(name, found, ok_detail):
    if not found:
        return Result(name, True, ok_detail)
    return Result(name, False, "; ".join(f"{problem}: {n} (e.g. {', '.join(examples)})"
                                         for problem, (n, examples) in found.items()))


ISSUANCE_STATES = ("issued", "claimed", "used", "settled", "void", "returned", "expired")
RIGHT_STATES = ("claimed", "used", "settled", "void", "returned", "expired")
USE_STATES = ("used", "reversed", "settled")

_VOUCHERS_HERE = "vouchers v JOIN templates t ON t.id = v.template_id WHERE t.region_code LIKE %(like)s"


def voucher_states(db, like):
    """Each voucher, right and use is in one state its service knows, and the state fits the
    row: only an unclaimed voucher has no holder (a claimed one that expired keeps it)."""
    found = _problems(db["issuance"], f"""
        SELECT v.id AS ref, CASE
            WHEN coalesce(v.status, '') NOT IN {ISSUANCE_STATES}
                THEN 'issuance: unknown state ' || coalesce(v.status, 'none')
            WHEN v.status = 'issued' AND v.holder IS NOT NULL THEN 'issuance: issued, yet held'
            WHEN v.status NOT IN ('issued', 'expired') AND v.holder IS NULL
                THEN 'issuance: ' || v.status || ' without a holder'
            WHEN v.status = 'used' AND v.used_at IS NULL THEN 'issuance: used without a time of use'
        END AS problem
        FROM {_VOUCHERS_HERE}""", {"like": like})
    found |= _problems(db["redemption"], f"""
        SELECT voucher_id AS ref, CASE
            WHEN coalesce(status, '') NOT IN {RIGHT_STATES}
                THEN 'redemption: unknown state ' || coalesce(status, 'none')
            WHEN status = 'used' AND used_at IS NULL THEN 'redemption: used without a time of use'
            WHEN status = 'void' AND voided_at IS NULL THEN 'redemption: void without a time'
        END AS problem
        FROM voucher_rights WHERE region_code LIKE %(like)s""", {"like": like})
    found |= _problems(db["settlement"], f"""
        SELECT voucher_id AS ref, CASE WHEN coalesce(status, '') NOT IN {USE_STATES}
            THEN 'settlement: unknown state ' || coalesce(status, 'none') END AS problem
        FROM used_vouchers WHERE region_code LIKE %(like)s""", {"like": like})
    return _result("voucher_states", found, "every voucher, right and use in a known state that fits it")


_CODE_AND_HOLDER = "substr(md5(coalesce(code, '') || ':' || coalesce(holder, '')), 1, 12)"


def rights_agree(db, like):
    """Redemption's right to each claimed voucher and issuance's voucher say the same: the same
    state, code and holder; a voucher held in issuance has a right, a right has its voucher. A
    returned right's voucher is returned (targeted) or back in its pool, under a new code."""
    # Redemption's rights travel to issuance's database as one array, compared there; code and
    # holder as a short digest of both: equality is all that is asked of them.
    db["redemption"].execute(f"""
        SELECT count(*), coalesce(array_agg(voucher_id || '|' || status || '|' || {_CODE_AND_HOLDER}), '{{}}')::text
        FROM voucher_rights WHERE region_code LIKE %(like)s""", {"like": like})
    n, rights = db["redemption"].fetchone()
    found = _problems(db["issuance"], f"""
        WITH rights AS (
            SELECT split_part(r, '|', 1)::uuid AS voucher_id, split_part(r, '|', 2) AS status,
                   split_part(r, '|', 3) AS code_and_holder
            FROM unnest(CAST(%(rights)s AS text[])) AS r),
        here AS (SELECT v.id, v.status, v.holder, {_CODE_AND_HOLDER} AS code_and_holder FROM {_VOUCHERS_HERE})
        SELECT coalesce(v.id, r.voucher_id) AS ref, CASE
            WHEN r.voucher_id IS NULL THEN v.status || ' in issuance, no right in redemption'
            WHEN v.id IS NULL THEN r.status || ' in redemption, unknown to issuance'
            WHEN r.status = 'returned' THEN CASE WHEN v.status <> 'returned' AND v.holder IS NOT NULL
                THEN 'returned in redemption, ' || v.status || ' in issuance' END
            WHEN r.status <> v.status THEN r.status || ' in redemption, ' || v.status || ' in issuance'
            WHEN r.code_and_holder <> v.code_and_holder THEN 'code or holder differ'
        END AS problem
        FROM here v FULL JOIN rights r ON r.voucher_id = v.id
        WHERE v.holder IS NOT NULL OR r.voucher_id IS NOT NULL""", {"like": like, "rights": rights})
    return _result("rights_agree", found, f"{n} rights, each as issuance has its voucher")


# What each service holds of each count (stats.domain.monthly.COUNTS), per template, and who decides it.
_PAID_LINES = """
    SELECT l.voucher_id, l.amount_fen FROM claim_lines l JOIN subsidy_claims c ON c.id = l.claim_id
    WHERE l.accepted AND l.review IS DISTINCT FROM 'rejected' AND c.status = 'disbursed'"""
_SOURCE_COUNTS = {
    "issuance": """
        SELECT v.template_id::text, count(*) AS issued,
               count(*) FILTER (WHERE v.holder IS NOT NULL AND v.status <> 'returned') AS claimed,
               count(*) FILTER (WHERE v.status IN ('used', 'settled')) AS used,
               count(*) FILTER (WHERE v.status = 'settled') AS settled,
               count(*) FILTER (WHERE v.status = 'void') AS voided,
               coalesce(sum(returns.n), 0) AS returned,  -- a general voucher may come back more than once
               count(*) FILTER (WHERE v.status = 'expired' AND v.holder IS NOT NULL) AS expired
        FROM vouchers v JOIN templates t ON t.id = v.template_id
        LEFT JOIN (SELECT voucher_id, count(*) AS n FROM voucher_history WHERE status = 'returned'
                   GROUP BY voucher_id) AS returns ON returns.voucher_id = v.id
        WHERE t.region_code LIKE %(like)s GROUP BY v.template_id""",
    "redemption": """
        SELECT template_id::text, count(*) FILTER (WHERE status <> 'returned') AS claimed,
               count(*) FILTER (WHERE status IN ('used', 'settled')) AS used,
               count(*) FILTER (WHERE status = 'settled') AS settled,
               count(*) FILTER (WHERE status = 'void') AS voided,
               count(*) FILTER (WHERE status = 'expired') AS expired
        FROM voucher_rights WHERE region_code LIKE %(like)s GROUP BY template_id""",
    "settlement": f"""
        SELECT u.terms->>'template_id', count(*) FILTER (WHERE u.status <> 'reversed') AS used,
               count(*) FILTER (WHERE u.status = 'settled') AS settled,
               coalesce(sum(paid.amount_fen) FILTER (WHERE u.status = 'settled'), 0) AS settled_fen
        FROM used_vouchers u LEFT JOIN ({_PAID_LINES}) AS paid ON paid.voucher_id = u.voucher_id
        WHERE u.region_code LIKE %(like)s GROUP BY 1""",
}
OWNERS = {"issued": "issuance", "claimed": "issuance", "used": "redemption", "settled": "settlement"}


def _counts(db, like):
    """{service: {template id: {count: n}}} for issuance, redemption and settlement."""
    counts = {}
    for service, query in _SOURCE_COUNTS.items():
        cursor = db[service]
        cursor.execute(query, {"like": like})
        names = [column.name for column in cursor.description[1:]]
        counts[service] = {row[0]: dict(zip(names, map(int, row[1:]))) for row in cursor.fetchall()}
    return counts


def _total(counts, service, name):
    return sum(template.get(name, 0) for template in counts[service].values())


def ordered_counts(counts):
    """settled <= used <= claimed <= issued in the region, each counted by the service that decides it."""
    chain = [(name, _total(counts, OWNERS[name], name)) for name in ("settled", "used", "claimed", "issued")]
    text = " <= ".join(f"{name} {n} ({OWNERS[name]})" for name, n in chain)
    ok = all(low <= high for (_, low), (_, high) in zip(chain, chain[1:]))
    return Result("used_le_claimed_le_issued", ok, text if ok else f"out of order: {text}")


def settled_subset_of_used(db, like):
    """Every voucher written off (核销) was paid and is used, not reversed: in settlement, a
    voucher is settled exactly when a disbursed application (or a direct settlement) holds it on
    a live line; in redemption it is used or settled, and every settled right was written off."""
    found = _problems(db["settlement"], """
        SELECT coalesce(u.voucher_id, paid.voucher_id) AS ref, CASE
            WHEN u.voucher_id IS NULL THEN 'paid, never used'
            WHEN paid.voucher_id IS NULL THEN 'written off, not paid'
            WHEN u.status <> 'settled' THEN 'paid, ' || u.status || ' in settlement'
        END AS problem
        FROM (SELECT * FROM used_vouchers WHERE region_code LIKE %(like)s) AS u
        FULL JOIN (SELECT l.voucher_id FROM claim_lines l JOIN subsidy_claims c ON c.id = l.claim_id
                   LEFT JOIN used_vouchers used ON used.voucher_id = l.voucher_id
                   WHERE l.accepted AND l.review IS DISTINCT FROM 'rejected' AND c.status = 'disbursed'
                     AND coalesce(used.region_code, c.region_code) LIKE %(like)s) AS paid
            ON paid.voucher_id = u.voucher_id
        WHERE u.status = 'settled' OR paid.voucher_id IS NOT NULL""", {"like": like})
    db["settlement"].execute("""
        SELECT count(*), coalesce(array_agg(voucher_id), '{}')::text FROM used_vouchers
        WHERE status = 'settled' AND region_code LIKE %(like)s""", {"like": like})
    written_off, settled = db["settlement"].fetchone()
    found |= _problems(db["redemption"], """
        WITH settled AS (SELECT unnest(CAST(%(settled)s AS uuid[])) AS voucher_id)
        SELECT s.voucher_id AS ref, CASE
            WHEN r.voucher_id IS NULL THEN 'written off, no right in redemption'
            WHEN r.status NOT IN ('used', 'settled') THEN 'written off, ' || r.status || ' in redemption'
        END AS problem
        FROM settled s LEFT JOIN voucher_rights r ON r.voucher_id = s.voucher_id
        UNION ALL
        SELECT r.voucher_id, 'settled in redemption, not written off in settlement' FROM voucher_rights r
        WHERE r.status = 'settled' AND r.region_code LIKE %(like)s
          AND NOT EXISTS (SELECT 1 FROM settled s WHERE s.voucher_id = r.voucher_id)""",
                        {"like": like, "settled": settled})
    return _result("settled_subset_of_used", found, f"{written_off} written off, each paid and used")


# The ledger's movements as SQL rows (kind, debit account, credit account).
_MOVEMENTS = ", ".join(f"('{kind}', '{debit}', '{credit}')" for kind, (debit, credit) in MOVEMENTS.items())


def _flow(account):
    """What an account of a pool holds by its entries: what came in less what went out."""
    return (f"coalesce(sum(amount_fen) FILTER (WHERE credit = '{account}'), 0)"
            f" - coalesce(sum(amount_fen) FILTER (WHERE debit = '{account}'), 0)")


def ledger_balances(cursor, like):
    """Each funding pool of the region balances: every entry moves a positive amount the way its
    kind does (so each sums to zero), each account's balance is the sum of its entries (the budget
    account gives out what was allocated), none is negative, budget = available + reserved + paid,
    and no application was paid or released more than it reserved."""
    found = _problems(cursor, f"""
        WITH pools AS (SELECT * FROM funding_pools WHERE region_code LIKE %(like)s),
        entries AS (SELECT e.* FROM ledger_entries e JOIN pools p ON p.id = e.pool_id),
        flows AS (SELECT pool_id, -({_flow('budget')}) AS budget, {_flow('available')} AS available,
                         {_flow('reserved')} AS reserved, {_flow('paid')} AS paid
                  FROM entries GROUP BY pool_id)
        SELECT e.id::text AS ref, CASE
            WHEN m.kind IS NULL THEN 'entry moves money between the wrong accounts'
            WHEN e.amount_fen <= 0 THEN 'entry amount not positive'
        END AS problem
        FROM entries e LEFT JOIN (VALUES {_MOVEMENTS}) AS m (kind, debit, credit)
            ON (m.kind, m.debit, m.credit) = (e.kind, e.debit, e.credit)
        UNION ALL
        SELECT p.id::text, CASE
            WHEN least(p.budget_fen, p.available_fen, p.reserved_fen, p.paid_fen) < 0 THEN 'pool balance negative'
            WHEN p.budget_fen <> p.available_fen + p.reserved_fen + p.paid_fen
                THEN 'budget is not available + reserved + paid'
            WHEN (p.budget_fen, p.available_fen, p.reserved_fen, p.paid_fen)
                 IS DISTINCT FROM (coalesce(f.budget, 0), coalesce(f.available, 0), coalesce(f.reserved, 0),
                                   coalesce(f.paid, 0))
                THEN 'pool balances differ from the sum of its entries'
        END
        FROM pools p LEFT JOIN flows f ON f.pool_id = p.id
        UNION ALL
        SELECT claim_id::text, CASE WHEN sum(CASE kind WHEN 'reserve' THEN amount_fen ELSE -amount_fen END) < 0
            THEN 'application paid or released more than it reserved' END
        FROM entries WHERE claim_id IS NOT NULL GROUP BY claim_id, pool_id""", {"like": like})
    cursor.execute("SELECT count(*) FROM funding_pools WHERE region_code LIKE %(like)s", {"like": like})
    return _result("ledger_balances", found, f"{cursor.fetchone()[0]} funding pools balance")


# Which services hold each of statistics' counts, and as what (see _SOURCE_COUNTS).
STATISTICS_SOURCES = {"issued": ("issuance",), "claimed": ("issuance", "redemption"),
                      "used": ("issuance", "redemption", "settlement"),
                      "settled": ("issuance", "redemption", "settlement"), "settled_fen": ("settlement",),
                      "voided": ("issuance", "redemption"), "returned": ("issuance",),
                      "expired": ("issuance", "redemption")}
_SUMS = ", ".join(f"sum({name})::bigint" for name in COUNTS)


def statistics_match_sources(cursor, like, counts):
    """Statistics' counts of each template of the region equal what the services that decide them
    hold (STATISTICS_SOURCES), and its monthly and daily counts add up to its running ones."""
    read = {}
    for table in ("voucher_counts", "monthly_counts", "daily_counts"):
        cursor.execute(f"SELECT template_id::text, {_SUMS} FROM {table} WHERE region_code LIKE %(like)s "
                       "GROUP BY template_id", {"like": like})
        read[table] = {row[0]: dict(zip(COUNTS, map(int, row[1:]))) for row in cursor.fetchall()}
    statistics = read["voucher_counts"]
    templates = sorted(set(statistics).union(*(counts[service] for service in counts)))
    differences = []
    for template in templates:
        for name, sources in STATISTICS_SOURCES.items():
            kept = statistics.get(template, {}).get(name, 0)
            held = {source: counts[source].get(template, {}).get(name, 0) for source in sources}
            if any(n != kept for n in held.values()):
                differences.append(f"template {template} {name}: statistics {kept}, "
                                   + ", ".join(f"{source} {n}" for source, n in held.items()))
        for table in ("monthly_counts", "daily_counts"):
            if any(read[table].get(template, {}).get(name, 0) != statistics.get(template, {}).get(name, 0)
                   for name in COUNTS):
                differences.append(f"template {template}: {table} do not add up to voucher_counts")
    if differences:
        return Result("statistics_match_sources", False,
                      f"{len(differences)} differences, e.g. {'; '.join(differences[:EXAMPLES])}")
    totals = {name: sum(template.get(name, 0) for template in statistics.values()) for name in COUNTS}
    return Result("statistics_match_sources", True, f"{len(templates)} template(s): "
                  + ", ".join(f"{name} {n}" for name, n in totals.items()))


def outbox_drained(db, outbox_age):
    """No event committed longer than ``outbox_age`` seconds ago is still unpublished, in any
    service's outbox, folded or not (the relay is stuck or the broker unreachable). Not limited to
    the region: an outbox row is just an event."""
    found, in_flight = {}, 0
    for service, cursor in db.items():
        cursor.execute(f"""
            SELECT count(*) FILTER (WHERE old),
                   (array_agg(id || ' ' || event_type ORDER BY id) FILTER (WHERE old))[1:{EXAMPLES}], count(*)
            FROM (SELECT id, event_type, occurred_at < now() - make_interval(secs => %(age)s) AS old
                  FROM ({UNSENT}) AS events) AS unsent""", {"age": outbox_age})
        old, examples, unsent = cursor.fetchone()
        in_flight += unsent - old
        if old:
            found[f"{service}: unpublished for over {outbox_age:g}s"] = (old, examples)
    # Events still on their way: the cross-service checks above may be ahead of them.
    return _result("outbox_drained", found, f"nothing unpublished for over {outbox_age:g}s in {len(db)} outboxes"
                                            f" ({in_flight} newer events unpublished)")


# -- dead letters -----------------------------------------------------------------------

def amqp_uri(profile):
    return launcher.environment(profile, "gateway")["AMQP_URI"]


def dead_letter_queues(service=None):
    """Every consumer's parking queue, named as the topology declares them (common.events)."""
    from common.topology import service_classes
    names = []
    for service_cls in service_classes():
        if service in (None, service_cls.name):
            names += [queue_names(source, event_type, service_cls.name, method)[2]
                      for source, event_type, method in subscriptions_of(service_cls)]
    return sorted(names)


def _field(value, limit=64):
    """An envelope field as printed: short, so that a malformed one cannot carry much."""
    return "-" if value is None else str(value)[:limit]


def _reason(header):
    """The first line of the error a message was parked with: no SQL, parameters or DETAIL."""
    if not header:
        return "-"
    return str(header).replace("\\n", "\n").strip().splitlines()[0][:300]


def envelope(message):
    """What an operator sees of a parked message: its envelope, the error, the payload's keys."""
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        body = None
    body = body if isinstance(body, dict) else {}
    payload = body.get("payload")
    headers = message.headers or {}
    return {"event_id": _field(body.get("event_id")), "event_type": _field(body.get("type")),
            "occurred_at": _field(body.get("occurred_at")), "attempts": _field(headers.get(ATTEMPTS_HEADER)),
            "reason": _reason(headers.get("x-last-error")),
            "payload_keys": sorted(map(str, payload)) if isinstance(payload, dict) else None}


def _depth(connection, channel, queue):
    try:
        return channel.queue_declare(queue=queue, passive=True).message_count
    except connection.channel_errors:
        raise SystemExit(f"no queue named {queue}") from None


def parked_messages(profile, queue, limit=20):
    """The envelopes of the first ``limit`` messages parked in ``queue``, which all stay parked."""
    with Connection(amqp_uri(profile)) as connection:
        channel = connection.channel()
        depth = _depth(connection, channel, queue)
        held = []
        parked = Queue(queue, channel=channel, no_declare=True)
        while len(held) < min(limit, depth):
            message = parked.get(no_ack=False)
            if message is None:
                break
            held.append(message)
        shown = [envelope(message) for message in held]
        for message in held:
            message.requeue()
    return depth, shown


def replay(profile, queue, event_id=None):
    """Move the messages parked in ``queue`` (or only ``event_id``'s) back to the queue they were
    parked from, with a fresh count of attempts, so that the handler runs again; the others stay
    parked. Each is published with a confirm before it is acked: a crash in between leaves it in
    both queues, and the handler's inbox makes the second delivery a no-op. Returns how many moved."""
    if not queue.endswith(".dead"):
        raise SystemExit(f"{queue} is not a parking queue (<queue>.dead)")
    target = queue.removesuffix(".dead")
    moved, kept = 0, []
    with Connection(amqp_uri(profile), transport_options={"confirm_publish": True}) as connection:
        channel = connection.channel()
        depth = _depth(connection, channel, queue)
        _depth(connection, channel, target)
        parked = Queue(queue, channel=channel, no_declare=True)
        producer = connection.Producer()
        for _ in range(depth):  # only what was parked when we began: a message parked again waits
            message = parked.get(no_ack=False)
            if message is None:
                break
            if event_id is not None and envelope(message)["event_id"] != event_id:
                kept.append(message)
                continue
            headers = {key: value for key, value in (message.headers or {}).items() if key != ATTEMPTS_HEADER}
            producer.publish(message.body, exchange="", routing_key=target, headers=headers, delivery_mode=2,
                             content_type=message.content_type, content_encoding=message.content_encoding)
            message.ack()
            moved += 1
        for message in kept:
            message.requeue()
    return moved


# -- the command line -------------------------------------------------------------------

def _print_invariants(args):
    results = check(args.profile, args.region, args.outbox_age)
    print(f"invariants of region {args.region} ({args.profile})")
    for result in results:
        print(f"  {'OK' if result.ok else 'VIOLATED':<9} {result.name:<27} {result.detail}")
    return 0 if all(result.ok for result in results) else 1


def _print_list(args):
    queues = dead_letter_queues(args.service)
    if not queues:
        raise SystemExit(f"no service named {args.service} consumes events")
    depths = queue_depths(amqp_uri(args.profile), queues)
    print(f"{'parked':>8}  queue")
    for queue in queues:
        print(f"{depths[queue] if queue in depths else 'missing':>8}  {queue}")
    print(f"{sum(depths.values())} parked in {len(queues)} dead-letter queues")
    return 0


def _print_show(args):
    depth, shown = parked_messages(args.profile, args.queue, args.limit)
    print(f"{args.queue}: {depth} parked, showing {len(shown)}")
    for index, message in enumerate(shown, 1):
        keys = ", ".join(message["payload_keys"]) if message["payload_keys"] is not None else "(no payload object)"
        print(f"{index:>3}. event {message['event_id']}  {message['event_type']}  occurred {message['occurred_at']}"
              f"  attempts {message['attempts']}\n     reason: {message['reason']}\n     payload keys: {keys}")
    return 0


def _print_replay(args):
    moved = replay(args.profile, args.queue, None if args.all else args.event_id)
    if not moved and not args.all:
        print(f"no message of event {args.event_id} is parked in {args.queue}")
        return 1
    print(f"replayed {moved} message(s) from {args.queue} to {args.queue.removesuffix('.dead')}")
    return 0


def main(argv=None):
    # --profile after any command, as launcher.py takes it.
    profile = argparse.ArgumentParser(add_help=False)
    profile.add_argument("--profile", choices=launcher.PROFILES, default=os.environ.get("VT_PROFILE", "dev"))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    invariants = commands.add_parser("invariants", parents=[profile],
                                     help="check a region's invariants across every service")
    invariants.add_argument("region", type=_region_code, help="a region code: province xx0000, city xxxx00 or county")
    invariants.add_argument("--outbox-age", type=float, default=60, help="seconds an event may wait unpublished")
    invariants.set_defaults(run=_print_invariants)
    dead_letters = commands.add_parser("dead-letters", help="inspect and replay parked messages")
    actions = dead_letters.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[profile], help="every dead-letter queue and its depth")
    listing.add_argument("--service")
    listing.set_defaults(run=_print_list)
    show = actions.add_parser("show", parents=[profile],
                              help="the parked messages of a queue: envelope, error, payload keys")
    show.add_argument("queue")
    show.add_argument("--limit", type=int, default=20)
    show.set_defaults(run=_print_show)
    again = actions.add_parser("replay", parents=[profile], help="move parked messages back to their queue")
    again.add_argument("queue")
    which = again.add_mutually_exclusive_group(required=True)
    which.add_argument("--event-id")
    which.add_argument("--all", action="store_true")
    again.set_defaults(run=_print_replay)
    args = parser.parse_args(argv)
    launcher.check_dependencies()
    try:
        return args.run(args)
    except psycopg2.OperationalError as exc:
        raise SystemExit(f"cannot read the {args.profile} platform's databases ({str(exc).strip().splitlines()[0]}); "
                         f"is it up? (make up, or scripts/launcher.py up --profile {args.profile})")


def _region_code(text):
    if not regions.is_valid(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a region code: six digits, e.g. 430000 (Hunan)")
    return text


if __name__ == "__main__":
    sys.exit(main())
