"""PostgreSQL never blocks the event loop: while one green thread waits on the server,
the others run (real PostgreSQL; run in a subprocess because it monkey-patches)."""
import json
import os
import subprocess
import sys

import pytest

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
SCRIPT = """
import json, sys
import eventlet
eventlet.monkey_patch(psycopg=False)  # eventlet can green psycopg2 itself; test our own mechanism
from sqlalchemy import create_engine, text
from common.db import green_engine

engine = (green_engine if sys.argv[1] == "green" else create_engine)(sys.argv[2])
order = []

def slow_query():
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_sleep(0.3)"))
    order.append("query returned")

def other_work():
    eventlet.sleep(0.05)
    order.append("other green thread ran")

threads = [eventlet.spawn(slow_query), eventlet.spawn(other_work)]
for thread in threads:
    thread.wait()
print(json.dumps(order))
"""


def order_of_events(kind):
    result = subprocess.run([sys.executable, "-c", SCRIPT, kind, URL], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if result.returncode != 0 and "could not connect" in result.stderr:
        pytest.skip("PostgreSQL is not running")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_other_green_threads_run_while_a_query_waits():
    assert order_of_events("green") == ["other green thread ran", "query returned"]


def test_without_the_green_driver_a_query_would_block_them():
    """The control: the same script with a plain engine shows what the test guards against."""
    assert order_of_events("plain") == ["query returned", "other green thread ran"]
