"""A service that is down makes the gateway answer 503 with Retry-After within its RPC
timeout, not hang; once the service is back, the same request succeeds."""
import time

import launcher  # scripts/launcher.py, put on sys.path by conftest
from tests.platform import eventually


def test_a_stopped_service_gets_a_clear_503_and_recovers(own_platform, gateway, clients):
    path = "/v1/indicators/430000"
    manager = clients("manager", "430000")
    launcher.stop(own_platform, ["statistics"])
    try:
        started = time.monotonic()
        response = gateway.call("GET", path, manager)
        waited = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "service_unavailable"
        assert response.headers["Retry-After"]
        assert waited < 30
    finally:
        launcher.start(own_platform, "statistics")
        launcher.wait_ready(own_platform, ["statistics"])
    eventually(lambda: _ok(gateway.call("GET", path, manager)), timeout=30)


def _ok(response):
    assert response.status_code == 200, response.text
