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
