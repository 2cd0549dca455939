"""An operator's round trip with a parked message: the consuming service's ``dead_letters``
gauge counts it, ``scripts/ops.py dead-letters list`` and ``show`` find it (its envelope and
error, never its payload's values), and once the message is fixed, ``replay`` gives it back to its
handler, which applies it, while every other parked message stays parked.

The message is an institution announced to statistics: its effect (a catalogue entry) is one
that no voucher invariant counts, so a replayed test event leaves the region's figures true."""
import json
import subprocess
import sys
import uuid

import requests
from kombu import Connection, Queue

import launcher  # scripts/launcher.py, put on sys.path by conftest
from common.events import Event, queue_names
from common.metrics import queue_depths
from tests.platform import eventually, new_region, sql
from tests.test_dead_letters import parked, publish

QUEUE, _, DEAD = queue_names("issuance", "institution_registered", "statistics", "handle_institution_registered")
NAME = "测试职业技能培训学校"


def ops_cli(profile, *args):
    return subprocess.run([sys.executable, str(launcher.ROOT / "scripts" / "ops.py"), *args, "--profile", profile],
                          capture_output=True, text=True, timeout=60)


def gauge(profile, queue):
    """statistics' ``dead_letters`` for ``queue``, as Prometheus scrapes it."""
    metrics = requests.get(launcher.url(profile, "statistics", "/metrics"), timeout=5).text
    for line in metrics.splitlines():
        if line.startswith("dead_letters{") and f'queue="{queue}"' in line and 'service="statistics"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no dead_letters series for {queue}")


def malformed_institution():
    """An institution_registered without its institution_id: it breaks statistics' contract and is
    parked at once."""
    return Event(type="institution_registered", source="issuance", aggregate_id=str(uuid.uuid4()),
                 payload={"region_code": new_region(), "name": NAME}).to_message()


def catalogued(database_url, institution_id):
    [(found,)] = sql(database_url, "statistics", "SELECT count(*) FROM catalogue WHERE kind = 'institution' "
                                                 "AND entry_id = :id", id=institution_id)
    return found


def test_a_parked_message_is_counted_listed_shown_and_once_fixed_replayed(profile, amqp_uri, database_url):
    before = queue_depths(amqp_uri, [DEAD])[DEAD]
    poison, other = malformed_institution(), malformed_institution()
    publish(amqp_uri, poison, QUEUE)
    publish(amqp_uri, other, QUEUE)

    def counted(n):
        assert gauge(profile, DEAD) == n
    eventually(lambda: counted(before + 2))

    listed = ops_cli(profile, "dead-letters", "list", "--service", "statistics")
    assert listed.returncode == 0, listed.stderr
    assert f"{before + 2:>8}  {DEAD}" in listed.stdout.splitlines()

    shown = ops_cli(profile, "dead-letters", "show", DEAD, "--limit", str(before + 2))
    assert shown.returncode == 0, shown.stderr
    heading = f"event {poison['event_id']}  institution_registered  occurred {poison['occurred_at']}"
    entry = shown.stdout.split(heading)[1]
    assert entry.splitlines()[0].strip() == "attempts -"  # parked at once, never attempted
    assert "reason: malformed: {'institution_id': ['Missing data for required field.']}" in entry
    assert "payload keys: name, region_code" in entry
    assert NAME not in shown.stdout and poison["payload"]["region_code"] not in shown.stdout  # keys, never values

    # The operator fixes the message: it goes back to the parking queue as it was, but whole.
    message = parked(amqp_uri, poison["event_id"], DEAD)
    fixed = json.loads(message.body)
    fixed["payload"]["institution_id"] = institution_id = str(uuid.uuid4())
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(fixed, exchange="", routing_key=DEAD, headers=message.headers,
                                      serializer="json", delivery_mode=2)

    replayed = ops_cli(profile, "dead-letters", "replay", DEAD, "--event-id", poison["event_id"])
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"replayed 1 message(s) from {DEAD}" in replayed.stdout

    def applied():
        assert catalogued(database_url, institution_id) == 1
    eventually(applied)
    eventually(lambda: counted(before + 1))  # the other one is still parked
    parked(amqp_uri, other["event_id"], DEAD)  # and taken away, as an operator discards what cannot be fixed
    eventually(lambda: counted(before))


def test_replay_all_moves_every_parked_message_back_and_starts_its_attempts_afresh(profile, amqp_uri):
    queue = f"ops-test-{uuid.uuid4().hex[:8]}"  # a queue of its own: no handler takes the messages
    with Connection(amqp_uri) as connection:
        channel = connection.channel()
        main, dead = (Queue(name, channel=channel, durable=True, auto_delete=False)
                      for name in (queue, f"{queue}.dead"))
        main.declare()
        dead.declare()
        try:
            for n in range(3):
                connection.Producer().publish({"event_id": str(uuid.uuid4()), "n": n}, exchange="",
                                              routing_key=dead.name, serializer="json", delivery_mode=2,
                                              headers={"x-attempts": 3, "x-last-error": "RuntimeError()"})
            missing = ops_cli(profile, "dead-letters", "replay", dead.name, "--event-id", str(uuid.uuid4()))
            assert missing.returncode == 1 and "no message of event" in missing.stdout
            assert queue_depths(amqp_uri, [queue, dead.name]) == {queue: 0, dead.name: 3}

            replayed = ops_cli(profile, "dead-letters", "replay", dead.name, "--all")
            assert replayed.returncode == 0 and f"replayed 3 message(s) from {dead.name} to {queue}" in replayed.stdout
            assert queue_depths(amqp_uri, [queue, dead.name]) == {queue: 3, dead.name: 0}
            moved = [main.get(no_ack=True) for _ in range(3)]
            assert sorted(json.loads(m.body)["n"] for m in moved) == [0, 1, 2]
            assert all("x-attempts" not in m.headers for m in moved)
        finally:
            main.delete()
            dead.delete()


def test_replay_refuses_a_queue_that_is_not_a_parking_queue(profile):
    refused = ops_cli(profile, "dead-letters", "replay", DEAD.removesuffix(".dead"), "--all")
    assert refused.returncode != 0 and "is not a parking queue" in refused.stderr
