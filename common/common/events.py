"""Integration events: the envelope, the subscription entrypoint and the queue topology.

Every event travels as one envelope (ARCHITECTURE.md). A subscription is nameko's
event handler with two changes: the payload is validated against the consumer's own
contract before any worker runs, and a failed message is never dropped: it goes to a
retry queue that sends it back after a delay, up to ``EVENT_MAX_ATTEMPTS`` times, and is
then parked in ``<queue>.dead`` for an operator to inspect and replay.
"""
import datetime
import logging
import uuid
from dataclasses import asdict, dataclass, field, replace

from kombu import Queue
from marshmallow import EXCLUDE, Schema, ValidationError
from nameko.amqp.publish import get_producer
from nameko.events import EventHandler
from nameko.standalone.events import get_event_exchange
from prometheus_client import Histogram

from common.contracts import fast_loader

log = logging.getLogger(__name__)

DEFAULT_MAX_ATTEMPTS = 5
RETRY_DELAY_MS = 2000
ATTEMPTS_HEADER = "x-attempts"  # attempts made so far


@dataclass(frozen=True)
class Event:
    type: str
    source: str
    aggregate_id: str
    payload: dict
    sequence: int = 1
    version: int = 1
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())

    def to_message(self):
        return asdict(self)

    @classmethod
    def from_message(cls, body):
        if not isinstance(body, dict):
            raise ValueError("an event envelope must be an object")
        missing = [name for name in cls.__dataclass_fields__ if name not in body]
        if missing:
            raise ValueError(f"envelope lacks {', '.join(missing)}")
        uuid.UUID(str(body["event_id"]))
        if not isinstance(body["payload"], dict):
            raise ValueError("envelope payload must be an object")
        return cls(**{name: body[name] for name in cls.__dataclass_fields__})


def queue_names(source, event_type, service_name, method_name):
    """The consumer's queue (nameko's own naming), its retry queue and its parking queue."""
    queue = f"evt-{source}-{event_type}--{service_name}.{method_name}"
    return queue, f"{queue}.retry", f"{queue}.dead"


def subscription_queues(source, event_type, service_name, method_name, config=None):
    queue, retry, dead = queue_names(source, event_type, service_name, method_name)
    return [
        Queue(queue, exchange=get_event_exchange(source, config or {}), routing_key=event_type,
              durable=True, auto_delete=False),
        # Dead-lettering on TTL expiry sends the message back to the main queue.
        Queue(retry, durable=True, auto_delete=False, queue_arguments={
            "x-message-ttl": RETRY_DELAY_MS,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue,
        }),
        Queue(dead, durable=True, auto_delete=False),
    ]


class Subscription(EventHandler):
    """``@subscribe(source, event_type, schema=PayloadSchema)``: the handler receives an
    ``Event`` whose payload the schema has loaded. Always reliable, service-pool delivery."""

    def __init__(self, source_service, event_type, schema=None, **kwargs):
        self.load = fast_loader(schema()) if schema is not None else None
        super().__init__(source_service, event_type, reliable_delivery=True, requeue_on_error=False, **kwargs)

    def setup(self):
        super().setup()
        config = self.container.config
        self.amqp_uri = config["AMQP_URI"]
        self.max_attempts = int(config.get("EVENT_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
        self.declare = subscription_queues(
            self.source_service, self.event_type, self.container.service_name, self.method_name, config)
        self.queue_name, self.retry_queue, self.dead_queue = (q.name for q in self.declare)

    def handle_message(self, body, message):
        try:
            event = Event.from_message(body)
            if self.load is not None:
                event = replace(event, payload=self.load(event.payload))
        except (ValueError, TypeError, ValidationError) as exc:
            # A message that breaks the contract will never succeed: park it at once.
            log.error("parking malformed %s.%s message: %s", self.source_service, self.event_type, exc)
            self._move(message, self.dead_queue, reason=f"malformed: {exc}")
            return
        super().handle_message(event, message)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            _observe_lag(self.container.service_name, self.event_type, message)
        else:
            attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
            target = self.retry_queue if attempts < self.max_attempts else self.dead_queue
            log.warning("%s failed on attempt %s (%s); sending to %s",
                        self.method_name, attempts, exc_info[1].__class__.__name__, target)
            self._move(message, target, reason=repr(exc_info[1])[:500], attempts=attempts)
            return
        self._settle(self.queue_consumer.ack_message, message)

    def _move(self, message, queue, reason, attempts=None):
        """Republish to ``queue`` (confirmed), then ack; if the broker is gone, requeue instead."""
        try:
            self._forward(message, queue, reason, attempts)
        except Exception:
            log.exception("could not move the message to %s; requeueing it", queue)
            self._settle(self.queue_consumer.requeue_message, message)
            return
        self._settle(self.queue_consumer.ack_message, message)

    def _settle(self, settle, message):
        """Ack or requeue, unless the broker connection died meanwhile: then the broker takes the
        message back and delivers it again, and the inbox ignores the repeat. (nameko catches
        only amqp's ConnectionError there; a reset socket would kill the whole service.)"""
        try:
            settle(message)
        except OSError as exc:
            log.warning("could not settle a %s.%s message (%s); the broker will deliver it again",
                        self.source_service, self.event_type, exc.__class__.__name__)

    def _forward(self, message, queue, reason, attempts=None):
        headers = dict(message.headers or {})
        headers["x-last-error"] = reason
        if attempts is not None:
            headers[ATTEMPTS_HEADER] = attempts
        with get_producer(self.amqp_uri) as producer:
            producer.publish(
                message.body, exchange="", routing_key=queue, headers=headers,
                content_type=message.content_type, content_encoding=message.content_encoding,
                delivery_mode=2, declare=self.declare, retry=True)


subscribe = Subscription.decorator


class Contract(Schema):
    """A consumer's contract for an event's payload (ARCHITECTURE.md: each consumer owns its own):
    the fields it reads; whatever else the producer sends is the producer's business."""
    class Meta:
        unknown = EXCLUDE

# How long after it happened an event's effect is applied: the "statistics lag behind" of an
# operator's dashboard, and of issue #8's event-to-statistics target.
EVENT_LAG = Histogram("event_lag_seconds", "From an event's occurred_at to its handler's commit",
                      ["service", "event_type"], buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300))


def _observe_lag(service, event_type, message):
    try:
        occurred = datetime.datetime.fromisoformat(message.payload["occurred_at"])
    except (KeyError, TypeError, ValueError):
        return
    if occurred.tzinfo is None:
        occurred = occurred.replace(tzinfo=datetime.timezone.utc)
    EVENT_LAG.labels(service, event_type).observe(
        max(0.0, (datetime.datetime.now(datetime.timezone.utc) - occurred).total_seconds()))


def subscriptions_of(service_cls):
    """``(source, event_type, method_name)`` for every subscription a service declares."""
    found = []
    for method_name in dir(service_cls):
        for entrypoint in getattr(getattr(service_cls, method_name), "nameko_entrypoints", ()):
            if isinstance(entrypoint, Subscription):
                found.append((entrypoint.source_service, entrypoint.event_type, method_name))
    return found


def declare_topology(amqp_uri, service_classes):
    """Declare every consumer's queues before anything publishes to them: nameko drops
    events sent to an exchange with no bound queue."""
    from kombu import Connection
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        for service_cls in service_classes:
            for source, event_type, method_name in subscriptions_of(service_cls):
                for queue in subscription_queues(source, event_type, service_cls.name, method_name):
                    queue(channel).declare()
        channel.close()

