"""Operators' business figures for Prometheus, per province, read from the read models at scrape
time (at most every ``BUSINESS_METRICS_SECONDS``): the flow of vouchers on the business dashboard.
Gauges, not counters: a use undone or a voucher returned makes a figure go down."""
import logging
import time

from nameko.extensions import DependencyProvider
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily

from common.db import Database, Store
from stats import operations

log = logging.getLogger(__name__)
STATES = ("issued", "claimed", "used", "settled", "expired", "voided", "returned")
ANOMALY = "anomaly:"


def families(figures):
    """The metric families of ``operations.business_figures``' answer."""
    vouchers = GaugeMetricFamily("business_vouchers", "Vouchers by state, per province", labels=["province", "state"])
    settled = GaugeMetricFamily("business_settled_yuan", "Subsidy settled, in yuan, per province", labels=["province"])
    anomalies = GaugeMetricFamily("business_anomalies", "Check-in anomalies detected, by rule, per province",
                                  labels=["province", "rule"])
    checkins = GaugeMetricFamily("business_checkins", "Check-ins recorded, per province", labels=["province"])
    completed = GaugeMetricFamily("business_trainings_completed", "Trainings completed, per province",
                                  labels=["province"])
    for province, counts in sorted(figures["vouchers"].items()):
        for state in STATES:
            vouchers.add_metric([province, state], counts[state])
        settled.add_metric([province], counts["settled_fen"] / 100)
    for province, kinds in sorted(figures["activity"].items()):
        checkins.add_metric([province], kinds.get("checkins", 0))
        completed.add_metric([province], kinds.get("completions", 0))
        for kind, n in sorted(kinds.items()):
            if kind.startswith(ANOMALY):
                anomalies.add_metric([province, kind.removeprefix(ANOMALY)], n)
    return [vouchers, settled, anomalies, checkins, completed]


class BusinessCollector:
    def __init__(self, session_factory, max_age):
        self.session_factory, self.max_age = session_factory, max_age
        self._figures, self._read_at = None, float("-inf")

    def describe(self):
        return []  # so that registering does not read the database

    def collect(self):
        if time.monotonic() - self._read_at > self.max_age:
            try:
                store = Store(self.session_factory, "statistics", "statistics.business_metrics", lambda: None)
                self._figures, self._read_at = store.run(operations.business_figures), time.monotonic()
            except Exception:
                log.exception("business figures unreadable; the scrape goes on without them")
                return []
        return families(self._figures)


class BusinessMetrics(DependencyProvider):
    """Registers the collector once the service's database is set up."""

    def start(self):
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        max_age = float(self.container.config.get("BUSINESS_METRICS_SECONDS", 15))
        self.collector = BusinessCollector(database.session_factory, max_age)
        REGISTRY.register(self.collector)

    def stop(self):
        REGISTRY.unregister(self.collector)
