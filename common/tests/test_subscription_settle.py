"""A subscription whose broker connection dies between handling a message and acknowledging it
neither dies itself nor loses the message: the broker delivers it again (real RabbitMQ)."""
import os
import socket
import uuid

import pytest
from kombu import Connection, Queue

from common.events import Subscription

AMQP_URI = os.environ.get("TEST_AMQP_URI", "amqp://guest:guest@127.0.0.1:5672//")


def test_an_ack_on_a_connection_that_died_meanwhile_leaves_the_message_to_the_broker():
    name = f"settle-test-{uuid.uuid4().hex[:8]}"
    try:
        first = Connection(AMQP_URI)
        first.connect()
    except OSError:
        pytest.skip("RabbitMQ is not running")
    queue = Queue(name, durable=False, auto_delete=False)
    try:
        queue(first.channel()).declare()
        first.Producer().publish({"n": 1}, routing_key=name, serializer="json")
        message = queue(first.channel()).get(no_ack=False)
        first.connection.transport.sock.shutdown(socket.SHUT_RDWR)  # the broker goes away before the ack

        Subscription("settle_test", "happened")._settle(lambda m: m.ack(), message)  # no exception

        with Connection(AMQP_URI) as second:
            again = queue(second.channel()).get(no_ack=True)
            assert again is not None and again.payload == {"n": 1} and again.delivery_info["redelivered"]
    finally:
        with Connection(AMQP_URI) as cleanup:
            queue(cleanup.channel()).delete()
        first.release()
