"""The outbox: events written in the transaction of their change, and the relay that
publishes the committed ones with publisher confirms, marks them sent, and retries whatever
failed. Nothing is published from inside a transaction that may still roll back; a broker
outage delays events and loses none.

Several relays may run against one database (replicas): ``FOR UPDATE SKIP LOCKED`` gives
each batch to one of them. A crash after publishing but before marking re-publishes the
batch, which consumers' inboxes absorb.

Foldable events (ADR 0011) are written as *parts*; the relay joins the parts that several
transactions wrote in a short while into one event before publishing it, in a transaction of
its own, so that a crash can only ever publish the same folded event again.
"""
import json
import logging
import uuid

import eventlet
from eventlet.event import Event as Signal
from nameko.amqp.publish import get_producer
from nameko.standalone.events import get_event_exchange
from prometheus_client import Counter
from sqlalchemy import text

from common.correlation import CORRELATION_ID
from common.events import Event

log = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter("outbox_events_published_total", "Events relayed from the outbox to RabbitMQ",
                           ["service", "event_type"])
RELAY_FAILURES = Counter("outbox_relay_failures_total", "Relay rounds that failed and will be retried",
                         ["service"])

# The aggregate's next sequence number and the event, in one round trip.
_EMIT = text("""
    WITH next AS (
        INSERT INTO outbox_sequence (aggregate_id, last) VALUES (:aggregate_id, 1)
        ON CONFLICT (aggregate_id) DO UPDATE SET last = outbox_sequence.last + 1
        RETURNING last)
    INSERT INTO outbox (event_id, event_type, version, aggregate_id, sequence, occurred_at, payload, correlation_id)
    SELECT :event_id, :type, :version, :aggregate_id, next.last, :occurred_at, CAST(:payload AS jsonb),
           :correlation_id
    FROM next
    RETURNING sequence""")
_EMIT_PART = text("""
    INSERT INTO outbox_parts (event_type, version, fold, payload, occurred_at, correlation_id)
    VALUES (:type, :version, :fold, CAST(:payload AS jsonb), :occurred_at, :correlation_id)""")
_PARTS = text("""
    SELECT id, event_type, version, fold, payload, occurred_at, correlation_id
    FROM outbox_parts ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED""")
_DROP_PARTS = text("DELETE FROM outbox_parts WHERE id = ANY(:ids)")
FOLD_MAX_ITEMS = 1000  # a folded event's list stays the size of a targeted issuance's chunk
FOLD_MAX_CORRELATIONS = 20

_PENDING = text("""
    SELECT id, event_id, event_type, version, aggregate_id, sequence, occurred_at, payload::text AS payload,
           correlation_id
    FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED""")
_MARK = text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)")
# A short reconnect inside a round; longer outages are the run loop's backoff.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}
# Events not yet published, folded or not: (id, event type, occurred at).
UNSENT = """
    SELECT id, event_type, occurred_at FROM outbox WHERE published_at IS NULL
    UNION ALL SELECT id, event_type, occurred_at FROM outbox_parts"""
BACKLOG = text(f"SELECT count(*), coalesce(extract(epoch FROM now() - min(occurred_at)), 0) FROM ({UNSENT}) AS unsent")


def write_event(connection, event, correlation_id=None):
    connection.execute(_EMIT, {
        "event_id": event.event_id, "type": event.type, "version": event.version,
        "aggregate_id": event.aggregate_id, "occurred_at": event.occurred_at,
        "payload": json.dumps(event.payload, default=str), "correlation_id": correlation_id})


def write_part(connection, event_type, *, payload, fold, version=1, occurred_at, correlation_id=None):
    connection.execute(_EMIT_PART, {
        "type": event_type, "version": version, "fold": fold, "payload": json.dumps(payload, default=str),
        "occurred_at": occurred_at, "correlation_id": correlation_id})


def fold_parts(parts, source, max_items=FOLD_MAX_ITEMS):
    """``(event, correlation id)`` for each event that parts (in the order they were written) of
    one type, version and otherwise equal payload are joined into, each list within ``max_items``;
    a part is never split."""
    folds, open_folds = [], {}
    for part in parts:
        fold, items = part["fold"], part["payload"][part["fold"]]
        shared = {name: value for name, value in part["payload"].items() if name != fold}
        key = (part["event_type"], part["version"], fold, json.dumps(shared, sort_keys=True))
        current = open_folds.get(key)
        if current is None or len(current["items"]) + len(items) > max_items:
            current = open_folds[key] = {"shared": shared, "items": [], "parts": []}
            folds.append(current)
        current["items"].extend(items)
        current["parts"].append(part)
    events = []
    for f in folds:
        first = f["parts"][0]
        events.append((Event(type=first["event_type"], source=source, aggregate_id=str(uuid.uuid4()),
                             version=first["version"], payload={**f["shared"], first["fold"]: f["items"]},
                             occurred_at=min(p["occurred_at"] for p in f["parts"]).isoformat()),
                       _correlation(f["parts"])))
    return events


def _correlation(parts):
    ids = dict.fromkeys(word for p in parts for word in (p["correlation_id"] or "").split())
    return " ".join(list(ids)[:FOLD_MAX_CORRELATIONS]) or None


class OutboxRelay:
    def __init__(self, engine, amqp_uri, source, config):
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.source = source
        self.exchange = get_event_exchange(source, config)
        self.batch_size = int(config.get("OUTBOX_BATCH_SIZE", 500))
        self.poll_interval = float(config.get("OUTBOX_POLL_INTERVAL", 1.0))
        # How long parts wait for others to join them: the price, in event lag, of fewer events.
        self.fold_linger = float(config.get("OUTBOX_FOLD_LINGER", 0.1))
        self._wakeup = Signal()
        self._hurry = Signal()  # an ordinary event ends a linger at once
        self._linger = False
        self._running = False

    def wake(self, linger=False):
        """A transaction committed events (or, with ``linger``, only parts that may wait)."""
        if not linger and not self._hurry.ready():
            self._hurry.send()
        if self._wakeup.ready():
            self._linger = self._linger and linger
        else:
            self._linger = linger
            self._wakeup.send()

    def stop(self):
        self._running = False
        self.wake()

    def run(self):
        self._running = True
        backoff = self.poll_interval
        while self._running:
            if self._linger:
                with eventlet.Timeout(self.fold_linger, False):
                    self._hurry.wait()
            try:
                while self._running and self.relay_round():
                    pass
                backoff = self.poll_interval
            except Exception as exc:
                RELAY_FAILURES.labels(self.source).inc()
                log.warning("outbox relay round failed (%s); retrying in %.1fs", exc.__class__.__name__, backoff)
                backoff = min(backoff * 2, 30.0)
            with eventlet.Timeout(backoff, False):
                self._wakeup.wait()
            self._wakeup, self._hurry = Signal(), Signal()

    def relay_round(self):
        """Fold parts, then publish events; True while either found a full batch."""
        folded = self.fold_pending()
        return self.publish_pending() == self.batch_size or folded == self.batch_size

    def fold_pending(self):
        """Fold one batch of parts into events; returns how many parts were folded."""
        with self.engine.begin() as connection:
            parts = connection.execute(_PARTS, {"limit": self.batch_size}).mappings().all()
            if not parts:
                return 0
            for event, correlation_id in fold_parts(parts, self.source):
                write_event(connection, event, correlation_id)
            connection.execute(_DROP_PARTS, {"ids": [part["id"] for part in parts]})
            return len(parts)

    def _message(self, row):
        """The envelope as JSON text, with the payload spliced in as the database writes it out:
        decoding a 1,000-voucher payload only to encode it again was most of a relay's work."""
        envelope = json.dumps({
            "event_id": str(row["event_id"]), "type": row["event_type"], "version": row["version"],
            "occurred_at": row["occurred_at"].isoformat(), "source": self.source,
            "aggregate_id": row["aggregate_id"], "sequence": row["sequence"]})
        return f'{envelope[:-1]}, "payload": {row["payload"]}}}'

    def publish_pending(self):
        """Publish one batch; returns how many events went out."""
        with self.engine.begin() as connection:
            rows = connection.execute(_PENDING, {"limit": self.batch_size}).mappings().all()
            if not rows:
                return 0
            with get_producer(self.amqp_uri) as producer:
                for row in rows:
                    producer.publish(
                        self._message(row), content_type="application/json", content_encoding="utf-8",
                        # nameko hands "nameko."-prefixed headers to the consumer's worker context.
                        headers={f"nameko.{CORRELATION_ID}": row["correlation_id"]} if row["correlation_id"] else {},
                        exchange=self.exchange, routing_key=row["event_type"], delivery_mode=2,
                        declare=[self.exchange], retry=True, retry_policy=PUBLISH_RETRY)
                    EVENTS_PUBLISHED.labels(self.source, row["event_type"]).inc()
            connection.execute(_MARK, {"ids": [row["id"] for row in rows]})
            return len(rows)

