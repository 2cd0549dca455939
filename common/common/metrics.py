"""Prometheus metrics for every service: each entrypoint's calls, errors and latency,
and, read at scrape time, the outbox backlog and the messages parked in dead-letter queues."""
import logging
import time

from kombu import Connection
from nameko.extensions import DependencyProvider
from nameko.rpc import Rpc
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from common.db import Database
from common.events import Subscription
from common.outbox import BACKLOG

CALLS = Counter("entrypoint_calls_total", "Entrypoint invocations", ["service", "entrypoint", "kind"])
ERRORS = Counter("entrypoint_errors_total", "Entrypoint invocations that raised", ["service", "entrypoint", "error"])
log = logging.getLogger(__name__)

LATENCY = Histogram("entrypoint_latency_seconds", "Entrypoint duration", ["service", "entrypoint"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))


class OutboxCollector:
    """Backlog and age of the oldest unsent event: the first thing to look at when
    statistics lag behind."""

    def __init__(self, service, engine):
        self.service = service
        self.engine = engine

    def collect(self):
        backlog = GaugeMetricFamily("outbox_backlog", "Events committed but not yet published", labels=["service"])
        age = GaugeMetricFamily("outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished event",
                                labels=["service"])
        try:
            with self.engine.connect() as connection:
                count, oldest = connection.execute(BACKLOG).first()
        except Exception:
            return  # the database being down shows up in readiness, not as a scrape error
        backlog.add_metric([self.service], count)
        age.add_metric([self.service], float(oldest))
        yield backlog
        yield age


def queue_depths(amqp_uri, queues):
    """{queue: messages ready in it}, by passive declares over one connection; a queue that
    does not exist is left out."""
    depths = {}
    with Connection(amqp_uri, connect_timeout=2) as connection:
        channel = connection.channel()
        for queue in queues:
            try:
                depths[queue] = channel.queue_declare(queue=queue, passive=True).message_count
            except connection.channel_errors:
                channel = connection.channel()  # the broker closed the one that asked
    return depths


DEAD_LETTER_CACHE_SECONDS = 5


class DeadLetterCollector:
    """Messages parked in the service's own ``.dead`` queues: events a handler gave up on, waiting
    for an operator (``scripts/ops.py dead-letters``). Read at most every few seconds, however
    often the service is scraped."""

    def __init__(self, service, amqp_uri, queues):
        self.service = service
        self.amqp_uri = amqp_uri
        self.queues = queues
        self._read_at, self._depths = None, {}

    def describe(self):
        return []  # so that registering does not call the broker

    def collect(self):
        if self._read_at is None or time.monotonic() - self._read_at >= DEAD_LETTER_CACHE_SECONDS:
            self._read_at = time.monotonic()
            try:
                self._depths = queue_depths(self.amqp_uri, self.queues)
            except Exception:
                self._depths = {}  # the broker being down shows up in readiness, not as a scrape error
        if not self._depths:
            return
        parked = GaugeMetricFamily("dead_letters", "Messages parked in a dead-letter queue",
                                   labels=["service", "queue"])
        for queue, depth in sorted(self._depths.items()):
            parked.add_metric([self.service, queue], depth)
        yield parked


class Metrics(DependencyProvider):
    """Times every entrypoint of the service; exposes the registry at ``/metrics``."""

    def setup(self):
        self.service = self.container.service_name
        self._started = {}

    def start(self):
        # After every dependency's setup, so the database's engine exists.
        database = next((d for d in self.container.dependencies if isinstance(d, Database)), None)
        if database is not None:
            REGISTRY.register(OutboxCollector(self.service, database.engine))
        # After every subscription's setup, which names its queues.
        dead_queues = sorted({entrypoint.dead_queue for entrypoint in self.container.entrypoints
                              if isinstance(entrypoint, Subscription)})
        if dead_queues:
            REGISTRY.register(DeadLetterCollector(self.service, self.container.config["AMQP_URI"], dead_queues))

    def worker_setup(self, worker_ctx):
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        entrypoint = worker_ctx.entrypoint
        started = self._started.pop(worker_ctx, None)
        CALLS.labels(self.service, entrypoint.method_name, type(entrypoint).__name__).inc()
        if started is not None:
            LATENCY.labels(self.service, entrypoint.method_name).observe(time.perf_counter() - started)
        if exc_info is not None:
            ERRORS.labels(self.service, entrypoint.method_name, exc_info[0].__name__).inc()
        if isinstance(entrypoint, (Rpc, Subscription)) and started is not None:
            # One line per command or event: name, outcome, duration; never arguments (personal data).
            outcome = "ok" if exc_info is None else getattr(exc_info[1], "code", exc_info[0].__name__)
            log.info("%s %s in %.1f ms", entrypoint.method_name, outcome, (time.perf_counter() - started) * 1000)

    def get_dependency(self, worker_ctx):
        return self

    @staticmethod
    def exposition():
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
