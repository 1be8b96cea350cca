"""One delivery through one integration: parse → claim → ledger ``processing`` → handler → ``done``.

Returns an ``Outcome`` and leaves the message alone: deleting it, setting its visibility, sending it
to the DLQ or holding it for the breaker is the consumer's decision. On a failure the idempotency
claim is released here, so whoever tries the event next may run the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from lovia_billing import tracing
from lovia_billing._errors import PermanentError, RetryableError
from lovia_billing._events import DomainEvent, parse_event
from lovia_billing.consumer._context import ClaimsPort, DeliveryContext, LedgerPort, PublisherPort
from lovia_billing.consumer._integration import Handler, IntegrationApp
from lovia_billing.consumer._lease import Lease
from lovia_billing.consumer._message import Delivery
from lovia_billing.consumer._metrics import ConsumerMetrics
from lovia_billing.consumer._outcome import Cause, Outcome, Verdict, is_systemic
from lovia_billing.idempotency import Claim
from lovia_billing.ledger import IntegrationStatus

__all__ = ["Pipeline", "describe"]


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Pipeline:
    """Runs handlers for one integration; ``run`` never raises except ``CancelledError``."""

    def __init__(
        self,
        app: IntegrationApp,
        *,
        idempotency: ClaimsPort,
        ledger: LedgerPort | None,
        publisher: PublisherPort | None,
        logger: Logger,
        metrics: ConsumerMetrics,
        worker_id: str,
        claim_seconds: int,
        stopping: Callable[[], bool],
    ) -> None:
        self.app = app
        self.integration = app.integration
        self._idempotency = idempotency
        self._ledger = ledger
        self._publisher = publisher
        self.log = logger
        self.metrics = metrics
        self.worker_id = worker_id
        self._claim_seconds = claim_seconds
        self._stopping = stopping

    def keys(self, delivery: Delivery) -> dict[str, Any]:
        """The log keys of a delivery before its body is read."""
        return {
            "integration": self.integration.value,
            "message_id": delivery.message_id,
            "customer_id": delivery.group_id,
            "attempt": delivery.receive_count,
            "correlation_id": delivery.correlation_id,
        }

    async def run(self, delivery: Delivery, lease: Lease) -> Outcome:
        """Handle one delivery; the outcome says what should become of the message."""
        self.metrics.message_age(time.time() - delivery.sent_at)
        keys = self.keys(delivery)
        try:
            event = parse_event(delivery.body)
        except Exception as exc:
            return Outcome(
                Verdict.DEAD, Cause.MESSAGE, error=f"unparseable message body: {describe(exc)}", log=keys
            )
        keys.update(event_id=event.event_id, event_type=event.event_type.value, customer_id=event.customer_id)
        keys["correlation_id"] = delivery.correlation_id or event.event_id
        handler = self.app.handlers.get(event.event_type)
        if handler is None:
            reason = f"no handler for {event.event_type.value} in {self.integration}"
            return Outcome(Verdict.DEAD, Cause.MESSAGE, event, reason, log=keys)
        try:
            claim = await self._idempotency.claim(
                self.integration, event.event_id, owner=self.worker_id, attempt=delivery.receive_count
            )
        except Exception as exc:
            error = describe(RetryableError(f"idempotency store: {describe(exc)}"))
            return Outcome(Verdict.RETRY, Cause.MESSAGE, event, error, log=keys)
        if claim is Claim.HELD:
            claim = await self._wait_for_claim_holder(event, keys)
            if claim is Claim.HELD:  # shutting down, or a live worker kept renewing its claim
                return Outcome(Verdict.HELD, event=event, log=keys)
        if claim is Claim.DONE:
            self.log.info("already done: acknowledged with no effect", extra=keys)
            # A worker that crashed between the store's "done" and the ledger's left the ledger at
            # processing (or a redrive/replay set it to queued): the store is the truth, say so.
            await self.mark(event, IntegrationStatus.DONE, keys)
            return Outcome(Verdict.DUPLICATE, event=event, log=keys)
        return await self._run_handler(delivery, lease, event, keys, handler)

    async def _run_handler(
        self, delivery: Delivery, lease: Lease, event: DomainEvent, keys: dict[str, Any], handler: Handler
    ) -> Outcome:
        lease.on_beat = lambda: self._idempotency.renew(
            self.integration, event.event_id, owner=self.worker_id
        )
        marking = asyncio.create_task(
            self.mark(event, IntegrationStatus.PROCESSING, keys, attempt=delivery.receive_count)
        )
        context = DeliveryContext(
            integration=self.integration,
            attempt=delivery.receive_count,
            correlation_id=keys["correlation_id"],
            logger=self.log,
            publisher=self._publisher,
        )
        started = time.monotonic()
        outcome: Outcome | None = None
        try:
            with tracing.consuming(
                f"{self.integration.value} {event.event_type.value}",
                delivery.attributes,
                correlation_id=keys["correlation_id"],
                event_id=event.event_id,
                integration=self.integration.value,
            ):
                await handler(event, context)
        except asyncio.CancelledError:
            # Shutdown ran out of grace: the message is released by the consumer; so is our claim.
            await marking
            with contextlib.suppress(Exception):
                await self._idempotency.release(self.integration, event.event_id, owner=self.worker_id)
            raise
        except PermanentError as exc:
            outcome = Outcome(Verdict.DEAD, Cause.REFUSED, event, describe(exc), log=keys)
        except RetryableError as exc:
            cause = Cause.SYSTEM if is_systemic(exc) else Cause.MESSAGE
            outcome = Outcome(Verdict.RETRY, cause, event, describe(exc), exc.retry_after, log=keys)
        except Exception as exc:
            self.log.exception("handler raised an unexpected error", extra=keys)
            outcome = Outcome(Verdict.RETRY, Cause.MESSAGE, event, describe(exc), log=keys)
        finally:
            lease.on_beat = None
            self.metrics.handler_latency(time.monotonic() - started)
        await marking
        if outcome is not None:
            await self._release_claim(event, keys)
            return outcome
        if not await self._record_done(event, keys):
            # The effect is in place but nothing says so: keep the message. It comes back after its
            # backoff, the handler runs again and meets its own effect (natural keys), and ``done``
            # is written then; deleting it now would leave the ledger at ``processing`` for ever.
            error = "the effect is applied but its done could not be recorded; delivered again to record it"
            await self._release_claim(event, keys)
            return Outcome(Verdict.RETRY, Cause.MESSAGE, event, error, log=keys)
        await self.mark(event, IntegrationStatus.DONE, keys)
        self.log.info("processed", extra={**keys, "seconds": round(time.monotonic() - started, 4)})
        return Outcome(Verdict.DONE, event=event, log=keys)

    async def _record_done(self, event: DomainEvent, keys: dict[str, Any]) -> bool:
        """``mark_done``; botocore has already retried it (standard mode, 4 attempts over seconds)."""
        try:
            await self._idempotency.mark_done(self.integration, event.event_id, owner=self.worker_id)
        except Exception as exc:
            self.log.warning("could not record done", extra={**keys, "error": describe(exc)})
            return False
        return True

    async def _wait_for_claim_holder(self, event: DomainEvent, keys: dict[str, Any]) -> Claim:
        """Another worker holds the claim, almost always one that crashed: take over when it ends.

        The message stays with us meanwhile (its lease keeps extending the visibility), so waiting
        costs neither it nor the messages behind it in its group another receive. Leaving it
        instead would, and after a few crashes a message could reach ``maxReceiveCount`` and be
        dead-lettered on receive, letting the customer's next event overtake it.
        """
        self.log.info("claimed by another worker: waiting for its claim to end", extra=keys)
        deadline = time.monotonic() + self._claim_seconds + 1
        claim = Claim.HELD
        while claim is Claim.HELD and not self._stopping() and time.monotonic() < deadline:
            record = await self._idempotency.get(self.integration, event.event_id)
            remaining = 0.0 if record is None else record.expires_at - time.time()
            await asyncio.sleep(min(max(remaining, 0.0) + 0.05, 1.0))
            claim = await self._idempotency.claim(
                self.integration, event.event_id, owner=self.worker_id, attempt=keys["attempt"]
            )
        return claim

    async def _release_claim(self, event: DomainEvent, keys: dict[str, Any]) -> None:
        try:
            await self._idempotency.release(self.integration, event.event_id, owner=self.worker_id)
        except Exception as exc:
            self.log.warning("could not release the claim", extra={**keys, "error": describe(exc)})

    async def mark(
        self,
        event: DomainEvent,
        status: IntegrationStatus,
        keys: dict[str, Any],
        *,
        attempt: int | None = None,
        error: str | None = None,
    ) -> None:
        """Write the ledger; a ledger outage is logged, never a reason to fail the message."""
        if self._ledger is None:
            return
        if self._idempotency.records_ledger and status in (
            IntegrationStatus.PROCESSING,
            IntegrationStatus.DONE,
        ):
            return  # the claim wrote processing, mark_done writes done: one write per state change
        try:
            await self._ledger.mark(event.event_id, self.integration, status, attempt=attempt, error=error)
        except Exception as exc:
            self.log.warning(
                "ledger write failed", extra={**keys, "status": status.value, "error": describe(exc)}
            )
