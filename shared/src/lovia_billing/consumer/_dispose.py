"""What becomes of a message after its outcome: delete, retry later, dead-letter, release, wait out.

Every disposition stops the message's lease first (waiting for a visibility change already on the
wire), so a late heartbeat can never overwrite what is decided here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from lovia_billing.consumer._backoff import retry_delay
from lovia_billing.consumer._lease import Held
from lovia_billing.consumer._metrics import ConsumerMetrics
from lovia_billing.consumer._outcome import Outcome, Verdict
from lovia_billing.consumer._pipeline import Pipeline
from lovia_billing.consumer._queue import DeleteBatcher, QueueClient
from lovia_billing.ledger import IntegrationStatus

__all__ = ["Backoff", "Disposer", "waiting_reason"]


def waiting_reason(integration: str, since: float) -> str:
    """The ledger's ``last_error`` of an event held back by an open breaker."""
    moment = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return f"waiting: {integration} unavailable since {moment}"


class Backoff:
    """Retry delays in whole seconds (``retry_delay`` with the consumer's scaled base and cap)."""

    def __init__(self, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap

    def __call__(self, attempt: int, retry_after: float | None) -> int:
        return retry_delay(attempt, base=self.base, cap=self.cap, retry_after=retry_after)


class Disposer:
    """Carries out the consumer's decisions on held messages."""

    def __init__(
        self,
        pipeline: Pipeline,
        queue: QueueClient,
        deleter: DeleteBatcher,
        *,
        dlq_url: str | None,
        max_receive_count: int,
        backoff: Backoff,
        claim_seconds: int,
        metrics: ConsumerMetrics,
        logger: Logger,
        stopping: Callable[[], bool],
    ) -> None:
        self._pipeline = pipeline
        self._queue = queue
        self._deleter = deleter
        self._dlq_url = dlq_url
        self.max_receive_count = max_receive_count
        self._backoff = backoff
        self._claim_seconds = claim_seconds
        self._metrics = metrics
        self._log = logger
        self._stopping = stopping

    async def settle(self, held: Held, outcome: Outcome) -> bool:
        """Today's path for every verdict; True when the message is finished and its group may go on."""
        match outcome.verdict:
            case Verdict.DONE | Verdict.DUPLICATE:
                self._metrics.count("processed" if outcome.verdict is Verdict.DONE else "duplicate")
                await self.acknowledge(held)
                return True
            case Verdict.HELD:
                await self.set_visibility(held, 0 if self._stopping() else self._claim_seconds)
            case Verdict.DEAD:
                await self.dead(held, outcome)
            case Verdict.RETRY:
                await self.retry(held, outcome)
        return False

    async def acknowledge(self, held: Held) -> None:
        await held.lease.stop()
        self._deleter.add(held.delivery)

    async def set_visibility(self, held: Held, seconds: int) -> None:
        await held.lease.stop()
        await self._queue.change_visibility(held.delivery, seconds)

    async def release(self, held: list[Held]) -> None:
        """Visible again now, not processed: order and receives are SQS's again."""
        if not held:
            return
        await asyncio.gather(*(item.lease.stop() for item in held))
        await self._queue.release([item.delivery for item in held])

    async def retry(self, held: Held, outcome: Outcome) -> None:
        """Back off by the attempt number (``Retry-After`` a floor); dead on the final receive."""
        delivery, keys, error = held.delivery, outcome.log, outcome.error or "unknown error"
        self._metrics.count("failed")
        if delivery.receive_count >= self.max_receive_count:
            self._log.error("retries exhausted: to the dead-letter queue", extra={**keys, "error": error})
            await self.dead(held, outcome, counted=True)
            return
        delay = self._backoff(delivery.receive_count, outcome.retry_after)
        if outcome.event is not None:
            await self._pipeline.mark(
                outcome.event, IntegrationStatus.RETRYING, keys, attempt=delivery.receive_count, error=error
            )
        self._metrics.count("retried")
        self._log.warning("will retry", extra={**keys, "error": error, "retry_in": delay})
        await self.set_visibility(held, delay)

    async def dead(self, held: Held, outcome: Outcome, *, counted: bool = False) -> None:
        """Never retried again: to the DLQ with the reason, in the ledger and on the message."""
        reason = outcome.error or "unknown error"
        if not counted:
            self._metrics.count("failed")
            self._log.error(
                "permanent failure: to the dead-letter queue", extra={**outcome.log, "error": reason}
            )
        if outcome.event is not None:
            await self._pipeline.mark(
                outcome.event,
                IntegrationStatus.DEAD,
                outcome.log,
                attempt=held.delivery.receive_count,
                error=reason,
            )
        await self._dead_letter(held, reason)

    async def mark_waiting(self, held: Held, outcome: Outcome, since: float) -> None:
        """Ledger ``retrying`` with "waiting: <integration> unavailable since <time>"."""
        if outcome.event is not None:
            await self._pipeline.mark(
                outcome.event,
                IntegrationStatus.RETRYING,
                outcome.log,
                attempt=held.delivery.receive_count,
                error=waiting_reason(self._pipeline.integration.value, since),
            )

    async def _dead_letter(self, held: Held, reason: str) -> None:
        """Move the message to the DLQ now (send, then delete).

        Waiting for SQS to move it after ``maxReceiveCount`` receives would also burn the receive
        counts of the messages behind it in its group, which come back in the same batches and are
        released each time, and would dead-letter them too. If the DLQ cannot be written, the
        message is made visible again and SQS's redrive policy remains the safety net.
        """
        self._metrics.count("dead")
        if self._dlq_url is not None and await self._queue.send_to_dead_letter(
            self._dlq_url, held.delivery, reason
        ):
            await self.acknowledge(held)
        else:
            await self.set_visibility(held, 0)
