"""Foldable events (ADR 0011): the parts several transactions wrote reach consumers as one event,
and a relay that fails after folding publishes that same event later, never the parts again;
what a relay publishes is the whole envelope, the payload as it was written. The rules of the
fold are plain Python; the relay runs against real PostgreSQL and RabbitMQ."""
import datetime
import os
import uuid

import eventlet
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from common.db import Store
from common.events import Event
from common.migrations import add_outbox_correlation, create_messaging_tables, create_outbox_parts
from common.outbox import OutboxRelay, fold_parts

SERVER = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
DATABASE = "vt_test_outbox_folding"
AMQP_URI = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")
SOURCE = "folding_test"
T0 = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)


def part(items, *, type_="vouchers_used", shared=None, seconds=0, correlation="c", fold="vouchers"):
    return {"event_type": type_, "version": 1, "fold": fold, "payload": {**(shared or {}), fold: items},
            "occurred_at": T0 + datetime.timedelta(seconds=seconds), "correlation_id": correlation}


def test_parts_of_one_kind_fold_into_one_event_in_the_order_written():
    [(event, correlation)] = fold_parts([part([1, 2], seconds=3, correlation="a"),
                                         part([3], seconds=1, correlation="b"), part([4, 5], seconds=2, correlation="a")],
                                        SOURCE)
    assert event.payload == {"vouchers": [1, 2, 3, 4, 5]}
    assert event.occurred_at == (T0 + datetime.timedelta(seconds=1)).isoformat()  # the earliest: honest lag
    assert event.source == SOURCE and correlation == "a b"


def test_parts_differing_in_type_or_shared_fields_stay_apart():
    events = [event for event, _ in fold_parts([
        part([1], shared={"template": {"v": 1}}), part([2], shared={"template": {"v": 2}}),
        part([3], shared={"template": {"v": 1}}), part([4], type_="checkins", fold="checkins")], SOURCE)]
    assert [(e.type, e.payload) for e in events] == [
        ("vouchers_used", {"template": {"v": 1}, "vouchers": [1, 3]}),
        ("vouchers_used", {"template": {"v": 2}, "vouchers": [2]}),
        ("checkins", {"checkins": [4]})]
    assert len({e.aggregate_id for e in events}) == 3


def test_a_fold_stops_at_the_item_limit_and_never_splits_a_part():
    folded = fold_parts([part([1, 2, 3]), part([4, 5]), part([6]), part([7, 8, 9, 10])], SOURCE, max_items=4)
    assert [event.payload["vouchers"] for event, _ in folded] == [[1, 2, 3], [4, 5, 6], [7, 8, 9, 10]]


@pytest.fixture
def engine():
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {DATABASE}"))
    except OperationalError:
        pytest.skip("PostgreSQL is not running")
    engine = create_engine(SERVER.rsplit("/", 1)[0] + f"/{DATABASE}")
    with engine.begin() as connection:
        op = Operations(MigrationContext.configure(connection))
        create_messaging_tables(op)
        add_outbox_correlation(op)
        create_outbox_parts(op)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def delivered():
    """What the relay publishes, read back from a queue bound to the source's exchange."""
    exchange = get_event_exchange(SOURCE, {})
    with Connection(AMQP_URI) as connection:
        queue = Queue(f"folding-test-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="#",
                      auto_delete=False, durable=False)(connection.channel())
        exchange(connection.channel()).declare()
        queue.declare()

        def drain():
            bodies = []
            while (message := queue.get(no_ack=True)) is not None:
                bodies.append(message.decode())
            return bodies
        yield drain
        queue.delete()


def write(engine, batches, on_commit=None):
    """Each batch in a transaction of its own, as the platform's hot commands write them."""
    wakes = []
    store = Store(sessionmaker(engine), SOURCE, f"{SOURCE}.write",
                  on_commit=on_commit or (lambda linger=False: wakes.append(linger)))
    for items in batches:
        store.run(lambda tx, items: tx.emit_foldable("vouchers_used", payload={"vouchers": items}, fold="vouchers"),
                  items=items)
    return wakes


def gather(delivered, count, seconds):
    """What is delivered until ``count`` messages came or ``seconds`` passed, letting the relay's
    green thread run meanwhile."""
    bodies, deadline = [], eventlet.hubs.get_hub().clock() + seconds
    while len(bodies) < count and eventlet.hubs.get_hub().clock() < deadline:
        eventlet.sleep(0.05)
        bodies += delivered()
    return bodies


def count(engine, sql):
    with engine.connect() as connection:
        return connection.execute(text(sql)).scalar_one()


def test_three_transactions_parts_are_published_as_one_event(engine, delivered):
    wakes = write(engine, [[{"n": 1}], [{"n": 2}, {"n": 3}], [{"n": 4}]])
    assert wakes == [True, True, True]  # parts alone let the relay linger
    relay = OutboxRelay(engine, AMQP_URI, SOURCE, {})
    relay.relay_round()
    bodies = delivered()
    assert [b["payload"] for b in bodies] == [{"vouchers": [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]}]
    assert bodies[0]["type"] == "vouchers_used" and bodies[0]["source"] == SOURCE
    assert count(engine, "SELECT count(*) FROM outbox_parts") == 0
    relay.relay_round()
    assert delivered() == []


def test_a_published_message_is_the_whole_envelope_with_the_payload_as_written(engine, delivered):
    payload = {"template": {"name": "电工定向抵用券", "institution_ids": None, "quantity": 1000},
               "vouchers": [{"code": "ABCD2345EF", "claimed_at": "2026-03-01T16:00:00+08:00"}], "note": 'a "b" \\ c'}
    Store(sessionmaker(engine), SOURCE, f"{SOURCE}.emit", on_commit=lambda linger=False: None).run(
        lambda tx: tx.emit("vouchers_claimed", aggregate_id="batch-1", payload=payload))
    OutboxRelay(engine, AMQP_URI, SOURCE, {}).relay_round()
    [body] = delivered()
    event = Event.from_message(body)
    assert event.payload == payload
    assert (event.type, event.source, event.aggregate_id, event.sequence, event.version) == (
        "vouchers_claimed", SOURCE, "batch-1", 1, 1)
    assert datetime.datetime.fromisoformat(event.occurred_at).tzinfo is not None


def test_a_relay_that_fails_after_folding_publishes_the_same_event_later(engine, delivered):
    write(engine, [[{"n": 1}], [{"n": 2}]])
    broken = OutboxRelay(engine, "amqp://guest:guest@127.0.0.1:1//", SOURCE, {})  # nothing listens on port 1
    with pytest.raises(Exception):
        broken.relay_round()
    assert count(engine, "SELECT count(*) FROM outbox_parts") == 0
    folded = count(engine, "SELECT event_id::text FROM outbox WHERE published_at IS NULL")
    write(engine, [[{"n": 3}]])  # written after the fold: not part of it
    OutboxRelay(engine, AMQP_URI, SOURCE, {}).relay_round()
    bodies = delivered()
    assert [(b["event_id"], b["payload"]) for b in bodies][0] == (folded, {"vouchers": [{"n": 1}, {"n": 2}]})
    assert [b["payload"] for b in bodies[1:]] == [{"vouchers": [{"n": 3}]}]


def test_an_ordinary_event_ends_the_linger_of_waiting_parts(engine, delivered):
    """Parts wait for others (here for a minute); an event that may not wait sends them along at once."""
    relay = OutboxRelay(engine, AMQP_URI, SOURCE, {"OUTBOX_FOLD_LINGER": 60})
    running = eventlet.spawn(relay.run)
    try:
        eventlet.sleep(0.2)  # the relay's first round, on an empty outbox
        write(engine, [[{"n": 1}]], on_commit=relay.wake)
        eventlet.sleep(0.5)
        assert delivered() == []  # lingering
        Store(sessionmaker(engine), SOURCE, f"{SOURCE}.emit", on_commit=relay.wake).run(
            lambda tx: tx.emit("voucher_use_reversed", aggregate_id="v1", payload={"code": "v1"}))
        bodies = gather(delivered, 2, 15)
        assert sorted(b["type"] for b in bodies) == ["voucher_use_reversed", "vouchers_used"]
    finally:
        relay.stop()
        running.wait()
