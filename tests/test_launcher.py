"""`make up` on a machine whose PostgreSQL or RabbitMQ is down says which, how to start it,
and exits non-zero without starting anything."""
import os
import subprocess
import sys

import launcher  # scripts/launcher.py, put on sys.path by conftest


def up_with(**env):
    return subprocess.run([sys.executable, str(launcher.ROOT / "scripts" / "launcher.py"), "up", "--profile", "test"],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


def test_an_unreachable_broker_is_named_with_how_to_start_it():
    result = up_with(AMQP_PORT="1")
    assert result.returncode != 0
    assert "RabbitMQ is not reachable at 127.0.0.1:1" in result.stdout
    assert "rabbitmq-server -detached" in result.stdout
    assert "PostgreSQL" not in result.stdout


def test_an_unreachable_database_server_is_named_with_how_to_start_it():
    result = up_with(PGPORT="1")
    assert result.returncode != 0
    assert "PostgreSQL is not reachable at 127.0.0.1:1" in result.stdout
    assert "pg_ctlcluster" in result.stdout


def test_a_second_replica_is_named_after_its_service_and_listens_ten_ports_above_the_first():
    assert launcher.process_names(2) == [*launcher.SERVICES, *(f"{name}-2" for name in launcher.SERVICES)]
    assert launcher.service_of("redemption-2") == ("redemption", 2)
    assert launcher.service_of("redemption") == ("redemption", 1)
    assert (launcher.port("dev", "redemption"), launcher.port("dev", "redemption-2")) == (8002, 8012)
    second = launcher.environment("test", "redemption-2")
    assert second["DATABASE_URL"] == launcher.environment("test", "redemption")["DATABASE_URL"]
    assert second["WEB_SERVER_ADDRESS"] == "127.0.0.1:18012"
