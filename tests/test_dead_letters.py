"""A failed event is never lost and never loops: a message that breaks the consumer's
contract is parked at once; one whose handler keeps failing is retried a bounded number
of times, then parked with its error, for an operator to inspect and replay."""
import json
import uuid

from kombu import Connection

from common.events import Event, queue_names
from tests.platform import eventually, new_region

QUEUE, RETRY, DEAD = queue_names("issuance", "vouchers_issued", "statistics", "handle_vouchers_issued")


def publish(amqp_uri, body, queue=QUEUE):
    with Connection(amqp_uri) as connection:
        connection.Producer().publish(body, exchange="", routing_key=queue, serializer="json", delivery_mode=2)


def parked(amqp_uri, event_id, dead=DEAD):
    """Take the parked copy of ``event_id`` off the parking queue (others are put back)."""
    with Connection(amqp_uri) as connection:
        queue = connection.SimpleQueue(dead)
        found, others = None, []
        try:
            while True:
                message = queue.get(block=True, timeout=0.5)
                if json.loads(message.body).get("event_id") == event_id:
                    found = message
                    message.ack()
                    break
                others.append(message)
        except queue.Empty:
            pass
        for message in others:
            message.requeue()
        queue.close()
    assert found is not None, f"{event_id} is not parked"
    return found


def issued(region, count=3, template_region=None):
    return Event(type="vouchers_issued", source="issuance", aggregate_id=str(uuid.uuid4()), payload={
        "batch_id": str(uuid.uuid4()), "count": count, "template": {
            "template_id": str(uuid.uuid4()), "region_code": template_region or region, "function": "face_value",
            "distribution": "general"}})


def test_a_message_that_breaks_the_contract_is_parked_at_once(amqp_uri, rpc):
    region = new_region()
    event = issued(region).to_message()
    del event["payload"]["count"]
    publish(amqp_uri, event)
    message = eventually(lambda: parked(amqp_uri, event["event_id"]))
    assert "malformed" in message.headers["x-last-error"]
    assert rpc.statistics.region_summary(region_code=region)["issued"] == 0


def test_a_poison_message_is_retried_then_parked_with_its_error(amqp_uri, rpc):
    # A region code too long for the read model's column: valid to the contract, fails in the database.
    event = issued(new_region(), template_region="4301021").to_message()
    publish(amqp_uri, event)
    message = eventually(lambda: parked(amqp_uri, event["event_id"]), timeout=30, interval=1)
    assert message.headers["x-attempts"] == 3  # EVENT_MAX_ATTEMPTS of the test platform
    assert "DataError" in message.headers["x-last-error"] or "StringDataRightTruncation" in \
        message.headers["x-last-error"]

