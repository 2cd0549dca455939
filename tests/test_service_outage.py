"""A service that is down makes the gateway answer 503 with Retry-After within its RPC
timeout, not hang; once the service is back, the same request succeeds."""
import time

import pytest

import launcher  # scripts/launcher.py, put on sys.path by conftest
from tests.platform import eventually


def test_a_stopped_service_gets_a_clear_503_and_recovers(running_platform, gateway, clients):
    if launcher.pid_of(running_platform, "statistics") is None:
        pytest.skip("the platform under test was not started by this machine's launcher")
    path = "/v1/indicators/430000"
    manager = clients("manager", "430000")
    launcher.stop(running_platform, ["statistics"])
    try:
        started = time.monotonic()
        response = gateway.call("GET", path, manager)
        waited = time.monotonic() - started
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "service_unavailable"
        assert response.headers["Retry-After"]
        assert waited < 30
    finally:
        launcher.start(running_platform, "statistics")
        launcher.wait_ready(running_platform, ["statistics"])
    eventually(lambda: _ok(gateway.call("GET", path, manager)), timeout=30)


def _ok(response):
    assert response.status_code == 200, response.text
