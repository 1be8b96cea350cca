"""The consumer runtime shared by the four ``*_sync`` services (see ``_integration`` for the contract).

An integration's ``__main__`` is one line: ``sys.exit(run_consumer(build, ErpnextSettings()))``.
Tests and benchmarks run a ``Consumer`` in-process: ``async with open_consumer(app, settings) as c``,
then ``await c.run_until_stopped()`` in a task and ``c.stop()``.
"""

from lovia_billing.consumer._backoff import retry_delay
from lovia_billing.consumer._consumer import Consumer
from lovia_billing.consumer._context import DeliveryContext, LedgerPort, PublisherPort
from lovia_billing.consumer._health import heartbeat_age, is_fresh
from lovia_billing.consumer._integration import Handler, HandlerContext, IntegrationApp
from lovia_billing.consumer._message import Delivery
from lovia_billing.consumer._metrics import ConsumerMetrics
from lovia_billing.consumer._queue import FIRST_RECEIVED_ATTRIBUTE
from lovia_billing.consumer._run import open_consumer, run_consumer, serve

__all__ = [
    "FIRST_RECEIVED_ATTRIBUTE",
    "Consumer",
    "ConsumerMetrics",
    "Delivery",
    "DeliveryContext",
    "Handler",
    "HandlerContext",
    "IntegrationApp",
    "LedgerPort",
    "PublisherPort",
    "heartbeat_age",
    "is_fresh",
    "open_consumer",
    "retry_delay",
    "run_consumer",
    "serve",
]
