"""SIGTERM drains in-flight work (issue #9): a service told to stop in the middle of a command
finishes it, answers it and publishes its events before it exits, and so does the gateway told
to stop in the middle of the request; started again, nothing is missing and nothing is done twice."""
import os
import signal
import threading
import time

import pytest
from sqlalchemy import create_engine, text

import launcher  # scripts/launcher.py, put on sys.path by conftest
from tests import lifecycle
from tests.platform import eventually, new_region

ROSTER = 20


@pytest.mark.parametrize("stopped", ["issuance", "gateway"])
def test_sigterm_lets_the_command_in_flight_finish(own_platform, gateway, clients, rpc, database_url, quiet, stopped):
    p = lifecycle.register(gateway, clients, new_region(), roster_size=ROSTER)
    lifecycle.create_templates(gateway, p, pool_size=1)
    quiet()
    engine = create_engine(database_url("issuance"))
    answer = {}
    with engine.connect() as blocker:
        # Issuing reserves the template's quantity last, just before it commits: holding the
        # template's row keeps the command in flight for as long as the test needs.
        blocker.execute(text("SELECT 1 FROM templates WHERE id = :id FOR UPDATE"), {"id": p.targeted_template_id})
        sender = threading.Thread(target=lambda: answer.update(response=lifecycle.issue_targeted(gateway, p)))
        sender.start()

        def waiting_on_the_lock():
            waiting = blocker.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")).scalar()
            assert waiting == 1
        eventually(waiting_on_the_lock, timeout=10, interval=0.05)

        pid = launcher.pid_of(own_platform, stopped)
        os.killpg(pid, signal.SIGTERM)
        time.sleep(1.0)
        assert launcher.pid_of(own_platform, stopped) == pid, f"{stopped} exited with a command in flight"
        blocker.rollback()  # the lock goes; the command can finish
    engine.dispose()
    sender.join(timeout=30)
    assert answer["response"]["issued"] == ROSTER

    def exited():
        assert launcher.pid_of(own_platform, stopped) is None
    eventually(exited, timeout=30, interval=0.2)
    launcher.start(own_platform, stopped)
    launcher.wait_ready(own_platform, [stopped])

    def delivered():
        assert rpc.redemption.region_summary(region_code=p.region)["claimed"] == ROSTER
        assert lifecycle.statistics(gateway, p)["issued"] == ROSTER + 1
    eventually(delivered, timeout=60, interval=0.5)
    # Issued once: running it again finds everyone on the roster already holding a voucher.
    assert lifecycle.issue_targeted(gateway, p)["issued"] == 0
