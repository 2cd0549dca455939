"""Correlation ids: one id per client request, from the gateway through every RPC it
causes, in every log line written on its behalf (``%(correlation_id)s``)."""
import logging

from eventlet.corolocal import local
from nameko.extensions import DependencyProvider

CORRELATION_ID = "correlation_id"  # the nameko context key, carried in RPC headers
_current = local()


def bind(correlation_id):
    """For code outside a worker that acts for a request (the gateway's HTTP handling)."""
    _current.value = correlation_id


class Correlation(DependencyProvider):
    """Makes the worker's correlation id visible to logging for as long as it runs."""

    def worker_setup(self, worker_ctx):
        _current.value = worker_ctx.data.get(CORRELATION_ID)

    def worker_teardown(self, worker_ctx):
        _current.value = None

    def get_dependency(self, worker_ctx):
        return worker_ctx.data.get(CORRELATION_ID)


class CorrelationFilter(logging.Filter):
    def filter(self, record):
        record.correlation_id = getattr(_current, "value", None) or "-"
        return True
