"""nameko's RPC entrypoint, made to survive the broker going away while a command runs.

nameko publishes the reply from the worker's thread; if the broker is gone at that moment the
publish raises, the thread dies with the error, and nameko kills the whole container — the
service is down until something restarts it. Here the lost reply is logged instead. The request
was not acknowledged, so the broker delivers it again once it is back; the caller has long
given up by then (the gateway's RPC timeout) and retries with the same Idempotency-Key, which
every command keeps, so running it twice has one effect."""
import logging

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu.exceptions import OperationalError
from nameko import rpc as nameko_rpc

log = logging.getLogger(__name__)


class Rpc(nameko_rpc.Rpc):
    def handle_result(self, message, worker_ctx, result, exc_info):
        try:
            return super().handle_result(message, worker_ctx, result, exc_info)
        except (OSError, OperationalError, AmqpConnectionError) as exc:
            log.warning("could not reply to %s (%s): the broker is unreachable; the request will be delivered again",
                        worker_ctx.entrypoint.method_name, exc.__class__.__name__)
            return result, exc_info


rpc = Rpc.decorator
