"""What every service exposes besides its domain: health, readiness and metrics, on
the service's own HTTP port (``WEB_SERVER_ADDRESS``)."""
import json

from kombu import Connection
from nameko.dependency_providers import Config
from nameko.web.handlers import http
from werkzeug.wrappers import Response

from common.correlation import Correlation


class Observable:
    """Mixin for a nameko service with ``db = Database()`` and ``metrics = Metrics()``."""

    config = Config()
    correlation = Correlation()

    @http("GET", "/health/live")
    def live(self, request):
        return Response(json.dumps({"status": "ok", "service": self.name}), mimetype="application/json")

    @http("GET", "/health/ready")
    def ready(self, request):
        checks = {}
        try:
            self.db.ping()
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {exc.__class__.__name__}"
        try:
            with Connection(self.config["AMQP_URI"], connect_timeout=2) as connection:
                connection.ensure_connection(max_retries=1)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {exc.__class__.__name__}"
        ok = all(value == "ok" for value in checks.values())
        return Response(json.dumps({"status": "ready" if ok else "not_ready", "checks": checks}),
                        status=200 if ok else 503, mimetype="application/json")

    @http("GET", "/metrics")
    def metrics_endpoint(self, request):
        body, content_type = self.metrics.exposition()
        return Response(body, content_type=content_type)
