"""The platform under test: the one named by GATEWAY_URL (e.g. after ``make up``), or a
``test`` profile platform started here and stopped at the end, with its own databases,
RabbitMQ virtual host and ports."""
import os
import sys
import uuid
from pathlib import Path

import pytest
from kombu import Connection
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from tests import platform
from tests.platform import Gateway

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import launcher  # noqa: E402  (scripts/launcher.py)


@pytest.fixture(scope="session")
def profile():
    """``test`` for a private platform; ``dev`` when GATEWAY_URL names the one ``make up`` started."""
    return os.environ.get("VT_PROFILE") or ("dev" if os.environ.get("GATEWAY_URL") else "test")


@pytest.fixture(scope="session")
def running_platform(profile):
    started = not os.environ.get("GATEWAY_URL")
    if started:
        launcher.up(profile)
    yield profile
    if started and not os.environ.get("KEEP_PLATFORM"):
        launcher.down(profile)


@pytest.fixture
def own_platform(running_platform):
    """The platform's profile, for tests that stop and start its processes: only this machine's
    launcher can."""
    if launcher.pid_of(running_platform, "gateway") is None:
        pytest.skip("the platform under test was not started by this machine's launcher")
    return running_platform


@pytest.fixture(scope="session")
def gateway(running_platform):
    return Gateway(os.environ.get("GATEWAY_URL") or launcher.url(running_platform, "gateway"))


@pytest.fixture(scope="session")
def amqp_uri(running_platform):
    return launcher.environment(running_platform, "gateway")["AMQP_URI"]


class Rpc:
    """``rpc.issuance.region_summary(...)`` over a fresh connection per call, so that a
    test survives the broker restarts it causes."""

    def __init__(self, amqp_uri):
        self.amqp_uri = amqp_uri

    def __getattr__(self, service):
        amqp_uri = self.amqp_uri

        class Service:
            def __getattr__(self, method):
                def call(**kwargs):
                    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=30) as proxy:
                        return getattr(getattr(proxy, service), method)(**kwargs)
                return call
        return Service()


@pytest.fixture(scope="session")
def rpc(amqp_uri):
    return Rpc(amqp_uri)


@pytest.fixture(scope="session", autouse=True)
def regions_in_use(running_platform, rpc):
    """A platform this run did not start empty (GATEWAY_URL) may hold earlier runs' data."""
    if os.environ.get("GATEWAY_URL"):
        def holds_data(code):
            summary = rpc.statistics.region_summary(region_code=code)
            return any(summary[key] for key in ("issued", "claimed", "used", "settled"))
        platform.region_holds_data = holds_data


@pytest.fixture(scope="session")
def database_url(running_platform):
    return lambda service: launcher.environment(running_platform, service)["DATABASE_URL"]


@pytest.fixture(scope="session")
def clients(running_platform, database_url):
    """Make gateway clients with a signing key: ``clients("manager", "430000")``."""
    from common.identity import Sealer
    from gateway.cli import add_client
    engine = create_engine(database_url("gateway"), pool_pre_ping=True)  # survives the chaos tests
    sealer = Sealer(launcher.environment(running_platform, "gateway")["PII_ENCRYPTION_KEY"])

    def make(role, region_code, institution_id=None, rate_limit=100):
        with Session(engine) as session:
            return add_client(session, sealer, name=f"test {role} {uuid.uuid4().hex[:6]}", role=role,
                              region_code=region_code, institution_id=institution_id, rate_limit=rate_limit)
    yield make
    engine.dispose()


@pytest.fixture(scope="session")
def broker(amqp_uri):
    with Connection(amqp_uri) as connection:
        yield connection


@pytest.fixture(scope="session")
def vhost(running_platform):
    return launcher.PROFILES[running_platform]["vhost"]


@pytest.fixture
def quiet(database_url, vhost):
    """Call to wait until the platform has finished reacting to everything sent so far."""
    from tests.platform import wait_quiet
    return lambda timeout=30.0: wait_quiet(database_url, vhost, timeout)
