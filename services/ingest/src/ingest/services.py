"""The ingest's object graph, built once per process in the app's lifespan (the composition root)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from aws_lambda_powertools import Logger

from ingest.idempotency_keys import IdempotencyKeys
from lovia_billing import IngestSettings
from lovia_billing.aws import AwsClients
from lovia_billing.ledger import Ledger
from lovia_billing.publisher import Publisher


class Services:
    """A plain class, not a dataclass: Litestar's signature model would otherwise introspect it."""

    def __init__(
        self,
        *,
        settings: IngestSettings,
        logger: Logger,
        aws: AwsClients,
        ledger: Ledger,
        publisher: Publisher,
        keys: IdempotencyKeys,
    ) -> None:
        self.settings = settings
        self.logger = logger
        self.aws = aws
        self.ledger = ledger
        self.publisher = publisher
        self.keys = keys
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` after the answer is sent (a clean-up); kept referenced until it ends."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, seconds: float) -> None:
        """At shutdown: let background work finish for up to ``seconds``, then cancel the rest."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=seconds)
        for task in pending:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*pending, return_exceptions=True)

    @classmethod
    def build(cls, settings: IngestSettings, aws: AwsClients, logger: Logger) -> Services:
        topology = settings.topology
        ledger = Ledger(aws.dynamodb, topology.ledger_table)
        return cls(
            settings=settings,
            logger=logger,
            aws=aws,
            ledger=ledger,
            publisher=Publisher(aws.sqs, topology, ledger),
            keys=IdempotencyKeys(aws.dynamodb, topology.idempotency_table),
        )
