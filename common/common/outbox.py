"""The outbox relay: publishes committed events with publisher confirms, marks them
sent, and retries whatever failed. Nothing is published from inside a transaction that
may still roll back; a broker outage delays events and loses none.

Several relays may run against one database (replicas): ``FOR UPDATE SKIP LOCKED`` gives
each batch to one of them. A crash after publishing but before marking re-publishes the
batch, which consumers' inboxes absorb.
"""
import logging

import eventlet
from eventlet.event import Event as Signal
from nameko.amqp.publish import get_producer
from nameko.standalone.events import get_event_exchange
from prometheus_client import Counter
from sqlalchemy import text

from common.correlation import CORRELATION_ID

log = logging.getLogger(__name__)

EVENTS_PUBLISHED = Counter("outbox_events_published_total", "Events relayed from the outbox to RabbitMQ",
                           ["service", "event_type"])
RELAY_FAILURES = Counter("outbox_relay_failures_total", "Relay rounds that failed and will be retried",
                         ["service"])

_PENDING = text("""
    SELECT id, event_id, event_type, version, aggregate_id, sequence, occurred_at, payload, correlation_id
    FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED""")
_MARK = text("UPDATE outbox SET published_at = now() WHERE id = ANY(:ids)")
# A short reconnect inside a round; longer outages are the run loop's backoff.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1}
BACKLOG = text("""
    SELECT count(*), coalesce(extract(epoch FROM now() - min(occurred_at)), 0)
    FROM outbox WHERE published_at IS NULL""")


class OutboxRelay:
    def __init__(self, engine, amqp_uri, source, config):
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.source = source
        self.exchange = get_event_exchange(source, config)
        self.batch_size = int(config.get("OUTBOX_BATCH_SIZE", 500))
        self.poll_interval = float(config.get("OUTBOX_POLL_INTERVAL", 1.0))
        self._wakeup = Signal()
        self._running = False

    def wake(self):
        if not self._wakeup.ready():
            self._wakeup.send()

    def stop(self):
        self._running = False
        self.wake()

    def run(self):
        self._running = True
        backoff = self.poll_interval
        while self._running:
            try:
                while self._running and self.publish_pending() == self.batch_size:
                    pass
                backoff = self.poll_interval
            except Exception as exc:
                RELAY_FAILURES.labels(self.source).inc()
                log.warning("outbox relay round failed (%s); retrying in %.1fs", exc.__class__.__name__, backoff)
                backoff = min(backoff * 2, 30.0)
            with eventlet.Timeout(backoff, False):
                self._wakeup.wait()
            self._wakeup = Signal()

    def publish_pending(self):
        """Publish one batch; returns how many events went out."""
        with self.engine.begin() as connection:
            rows = connection.execute(_PENDING, {"limit": self.batch_size}).mappings().all()
            if not rows:
                return 0
            with get_producer(self.amqp_uri) as producer:
                for row in rows:
                    producer.publish(
                        {"event_id": str(row["event_id"]), "type": row["event_type"], "version": row["version"],
                         "occurred_at": row["occurred_at"].isoformat(), "source": self.source,
                         "aggregate_id": row["aggregate_id"], "sequence": row["sequence"],
                         "payload": row["payload"]},
                        # nameko hands "nameko."-prefixed headers to the consumer's worker context.
                        headers={f"nameko.{CORRELATION_ID}": row["correlation_id"]} if row["correlation_id"] else {},
                        exchange=self.exchange, routing_key=row["event_type"], delivery_mode=2,
                        serializer="json", declare=[self.exchange], retry=True, retry_policy=PUBLISH_RETRY)
                    EVENTS_PUBLISHED.labels(self.source, row["event_type"]).inc()
            connection.execute(_MARK, {"ids": [row["id"] for row in rows]})
            return len(rows)

