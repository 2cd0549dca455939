"""The integration event envelope and the names of a subscription's queues."""
import datetime
import json
import uuid

import pytest

from common.events import Event, queue_names, subscription_queues

FIELDS = ("type", "source", "aggregate_id", "payload", "sequence", "version", "event_id", "occurred_at")


def _event(**overrides):
    return Event(**{"type": "voucher_claimed", "source": "issuance", "aggregate_id": "v-1",
                    "payload": {"voucher_id": "v-1", "region_code": "430100"}, "sequence": 3, **overrides})


def test_an_event_survives_the_trip_through_a_message():
    event = _event()
    assert Event.from_message(event.to_message()) == event


def test_an_event_survives_the_trip_through_json():
    event = _event()
    assert Event.from_message(json.loads(json.dumps(event.to_message()))) == event


def test_a_message_carries_every_envelope_field():
    assert set(_event().to_message()) == set(FIELDS)


def test_a_new_event_gets_a_fresh_uuid_and_an_aware_timestamp():
    first, second = _event(), _event()
    assert first.event_id != second.event_id
    uuid.UUID(first.event_id)
    assert datetime.datetime.fromisoformat(first.occurred_at).tzinfo is not None
    assert (first.version, _event().sequence) == (1, 3)


def test_extra_fields_in_a_message_are_ignored():
    message = {**_event().to_message(), "trace": "abc"}
    assert Event.from_message(message) == _event(event_id=message["event_id"], occurred_at=message["occurred_at"])


@pytest.mark.parametrize("missing", FIELDS)
def test_a_message_missing_a_field_is_refused(missing):
    message = _event().to_message()
    del message[missing]
    with pytest.raises(ValueError, match=missing):
        Event.from_message(message)


@pytest.mark.parametrize("body", [None, [], "event", 42])
def test_a_message_that_is_not_an_object_is_refused(body):
    with pytest.raises(ValueError):
        Event.from_message(body)


@pytest.mark.parametrize("payload", [None, [], "text", 7])
def test_a_payload_that_is_not_an_object_is_refused(payload):
    with pytest.raises(ValueError, match="payload"):
        Event.from_message({**_event().to_message(), "payload": payload})


@pytest.mark.parametrize("event_id", ["not-a-uuid", "", None, "1234", "g" * 32])
def test_a_malformed_event_id_is_refused(event_id):
    with pytest.raises(ValueError):
        Event.from_message({**_event().to_message(), "event_id": event_id})


def test_queue_names_follow_nameko_with_retry_and_dead_queues():
    assert queue_names("issuance", "voucher_claimed", "statistics", "on_voucher_claimed") == (
        "evt-issuance-voucher_claimed--statistics.on_voucher_claimed",
        "evt-issuance-voucher_claimed--statistics.on_voucher_claimed.retry",
        "evt-issuance-voucher_claimed--statistics.on_voucher_claimed.dead",
    )


def test_the_retry_queue_sends_messages_back_to_the_main_queue_after_a_delay():
    main, retry, dead = subscription_queues("redemption", "voucher_used", "settlement", "on_voucher_used")
    assert (main.name, retry.name, dead.name) == queue_names("redemption", "voucher_used", "settlement",
                                                              "on_voucher_used")
    assert main.routing_key == "voucher_used"
    assert main.exchange.name == "redemption.events"
    assert retry.queue_arguments["x-dead-letter-exchange"] == ""
    assert retry.queue_arguments["x-dead-letter-routing-key"] == main.name
    assert retry.queue_arguments["x-message-ttl"] > 0
    assert all(q.durable and not q.auto_delete for q in (main, retry, dead))
