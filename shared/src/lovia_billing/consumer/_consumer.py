"""The consumer: long-polls one FIFO queue and runs an integration's handlers on what it receives.

Scheduling. Received messages are held per message group, sorted by ``SequenceNumber``. At most
``consumer_concurrency`` groups run at once, each in its own task that takes its messages one after
another, so a group never has two messages in flight and its order is kept. When a message does not
succeed (retry, permanent failure, claim held elsewhere), the messages behind it in that group are
released (visibility 0) instead of processed: SQS will not hand them out again while the failed head
is invisible, so the group resumes in order after the head's redelivery.

Per message: parse → idempotency claim → ledger ``processing`` → handler → idempotency ``done`` →
ledger ``done`` → batched delete. See ``docs/consumer-runtime.md`` for the error classes.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import socket
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from lovia_billing._errors import PermanentError, RetryableError
from lovia_billing._events import DomainEvent, parse_event
from lovia_billing._settings import ConsumerSettings
from lovia_billing.consumer._backoff import retry_delay
from lovia_billing.consumer._context import ClaimsPort, DeliveryContext, LedgerPort, PublisherPort
from lovia_billing.consumer._integration import IntegrationApp
from lovia_billing.consumer._lease import Lease
from lovia_billing.consumer._message import Delivery
from lovia_billing.consumer._metrics import ConsumerMetrics
from lovia_billing.consumer._queue import DeleteBatcher, QueueClient
from lovia_billing.idempotency import Claim
from lovia_billing.ledger import IntegrationStatus
from lovia_billing.logs import get_logger
from lovia_billing.topology import MAX_RECEIVE_COUNT

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient


@dataclass
class _Held:
    delivery: Delivery
    lease: Lease


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Consumer:
    """Runs one integration against its queue until ``stop()``; ``run_consumer`` wraps it for processes."""

    def __init__(
        self,
        app: IntegrationApp,
        settings: ConsumerSettings,
        *,
        sqs: SQSClient,
        queue_url: str,
        dlq_url: str | None = None,
        idempotency: ClaimsPort,
        ledger: LedgerPort | None = None,
        publisher: PublisherPort | None = None,
        logger: Logger | None = None,
        max_receive_count: int = MAX_RECEIVE_COUNT,
        worker_id: str | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.integration = app.integration
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.log = logger or get_logger(f"{app.integration.value}_sync", settings.log_level)
        self.metrics = ConsumerMetrics(app.integration.value)
        self._queue = QueueClient(sqs, queue_url, self.log)
        self._deleter = DeleteBatcher(self._queue, sqs, self.log)
        self._dlq_url = dlq_url
        self._idempotency = idempotency
        self._ledger = ledger
        self._publisher = publisher
        self._max_receive_count = max_receive_count
        self._health_file = Path(settings.health_file) if settings.health_file else None
        self._stopping = asyncio.Event()
        self._room = asyncio.Event()
        self._waiting: OrderedDict[str, list[_Held]] = OrderedDict()  # groups waiting for a slot
        self._running: dict[str, list[_Held]] = {}  # groups being processed; head is in progress
        self._group_tasks: set[asyncio.Task[None]] = set()
        self._held = 0

    # ---- lifecycle -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop receiving; ``run_until_stopped`` then finishes or releases what it holds and returns."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    async def run_until_stopped(self) -> None:
        """Poll and process until ``stop()``; then drain within ``consumer_grace_seconds``."""
        settings = self.settings
        self.log.info(
            "consumer started",
            extra={
                "integration": self.integration.value,
                "worker": self.worker_id,
                "queue_url": self._queue.url,
            },
        )
        deleter = asyncio.create_task(self._deleter.run())
        flusher = asyncio.create_task(self._flush_metrics_periodically())
        pollers = [asyncio.create_task(self._poll()) for _ in range(settings.consumer_pollers)]
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            deadline = asyncio.get_running_loop().time() + settings.consumer_grace_seconds
            # A receive cut short can at worst leave a batch invisible for one visibility timeout:
            # delayed, never lost. Waiting out a 20 s long poll would eat the grace period instead.
            for poller in pollers:
                poller.cancel()
            await asyncio.gather(*pollers, return_exceptions=True)
            await self._release_waiting()
            await self._finish_running(deadline)
            self._deleter.close()
            await deleter
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
            self.metrics.flush()
            self.log.info(
                "consumer stopped", extra={"integration": self.integration.value, "worker": self.worker_id}
            )

    async def _finish_running(self, deadline: float) -> None:
        """Let running handlers finish until the deadline; cancel (and so release) the rest."""
        tasks = list(self._group_tasks)
        if not tasks:
            return
        timeout = max(0.0, deadline - asyncio.get_running_loop().time())
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()
        if late:
            self.log.warning("grace period over: releasing unfinished messages", extra={"groups": len(late)})
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _release_waiting(self) -> None:
        held = [item for items in self._waiting.values() for item in items]
        self._waiting.clear()
        self._held -= len(held)
        await self._release(held)

    async def _flush_metrics_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.consumer_metrics_seconds)
            self.metrics.flush()

    # ---- receiving -------------------------------------------------------------------------------

    def _touch_health(self) -> None:
        if self._health_file is not None:
            with contextlib.suppress(OSError):
                self._health_file.touch()

    async def _poll(self) -> None:
        settings = self.settings
        limit = settings.buffer_limit
        while not self.stopping:
            self._touch_health()
            room = limit - self._held
            if room <= 0:
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), timeout=5)
                continue
            try:
                deliveries = await self._queue.receive(
                    max_messages=min(settings.consumer_max_messages, room),
                    wait_seconds=settings.consumer_wait_seconds,
                    visibility=settings.consumer_visibility_timeout,
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.log.warning("receive failed", extra={"error": _describe(exc)})
                await asyncio.sleep(1)
                continue
            self._accept(deliveries)

    def _accept(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            lease = Lease(
                self._queue,
                delivery,
                visibility=self.settings.consumer_visibility_timeout,
                interval=self.settings.consumer_visibility_timeout
                * self.settings.consumer_heartbeat_fraction,
            )
            lease.start()
            group = delivery.group_id
            items = self._running[group] if group in self._running else self._waiting.setdefault(group, [])
            # In sequence order, but never ahead of a running head.
            start = 1 if group in self._running else 0
            keys = [item.delivery.sequence_number for item in items[start:]]
            items.insert(start + bisect.bisect_right(keys, delivery.sequence_number), _Held(delivery, lease))
            self._held += 1
        self._dispatch()

    def _dispatch(self) -> None:
        while self._waiting and len(self._running) < self.settings.consumer_concurrency and not self.stopping:
            group, items = self._waiting.popitem(last=False)
            self._running[group] = items
            task = asyncio.create_task(self._run_group(group))
            self._group_tasks.add(task)
            task.add_done_callback(self._group_tasks.discard)

    # ---- one group -------------------------------------------------------------------------------

    async def _run_group(self, group: str) -> None:
        items = self._running[group]
        try:
            while items and not self.stopping:
                proceed = await self._process(items[0])
                items.pop(0)
                self._held -= 1
                self._room.set()
                if not proceed:
                    break
        finally:
            rest = list(items)
            items.clear()
            del self._running[group]
            self._held -= len(rest)
            self._room.set()
            await self._release(rest)
            self._dispatch()

    async def _release(self, held: list[_Held]) -> None:
        if not held:
            return
        await asyncio.gather(*(item.lease.stop() for item in held))
        await self._queue.release([item.delivery for item in held])

    # ---- one message -----------------------------------------------------------------------------

    async def _process(self, held: _Held) -> bool:
        """Handle one delivery; True when it is finished with (deleted) and the group may go on."""
        delivery = held.delivery
        self.metrics.message_age(time.time() - delivery.sent_at)
        keys: dict[str, Any] = {
            "integration": self.integration.value,
            "message_id": delivery.message_id,
            "customer_id": delivery.group_id,
            "attempt": delivery.receive_count,
            "correlation_id": delivery.correlation_id,
        }
        try:
            event = parse_event(delivery.body)
        except Exception as exc:
            await self._permanent(held, None, keys, f"unparseable message body: {_describe(exc)}")
            return False
        keys.update(event_id=event.event_id, event_type=event.event_type.value, customer_id=event.customer_id)
        keys["correlation_id"] = delivery.correlation_id or event.event_id
        handler = self.app.handlers.get(event.event_type)
        if handler is None:
            await self._permanent(
                held, event, keys, f"no handler for {event.event_type.value} in {self.integration}"
            )
            return False
        try:
            claim = await self._idempotency.claim(
                self.integration, event.event_id, owner=self.worker_id, attempt=delivery.receive_count
            )
        except Exception as exc:
            await self._retry(
                held, event, keys, RetryableError(f"idempotency store: {_describe(exc)}"), claimed=False
            )
            return False
        if claim is Claim.HELD:
            claim = await self._wait_for_claim_holder(event, keys)
            if claim is Claim.HELD:  # shutting down, or a live worker kept renewing its claim
                await self._set_visibility(held, 0 if self.stopping else self.settings.consumer_claim_seconds)
                return False
        if claim is Claim.DONE:
            self.metrics.count("duplicate")
            self.log.info("already done: acknowledged with no effect", extra=keys)
            # A worker that crashed between the store's "done" and the ledger's left the ledger at
            # processing (or a redrive/replay set it to queued): the store is the truth, say so.
            await self._mark(event, IntegrationStatus.DONE, keys)
            await self._acknowledge(held)
            return True
        return await self._run_handler(held, event, keys, handler)

    async def _run_handler(self, held: _Held, event: DomainEvent, keys: dict[str, Any], handler: Any) -> bool:
        delivery = held.delivery
        held.lease.on_beat = lambda: self._idempotency.renew(
            self.integration, event.event_id, owner=self.worker_id
        )
        marking = asyncio.create_task(
            self._mark(event, IntegrationStatus.PROCESSING, keys, attempt=delivery.receive_count)
        )
        context = DeliveryContext(
            integration=self.integration,
            attempt=delivery.receive_count,
            correlation_id=keys["correlation_id"],
            logger=self.log,
            publisher=self._publisher,
        )
        started = time.monotonic()
        try:
            await handler(event, context)
        except asyncio.CancelledError:
            # Shutdown ran out of grace: the message is released by the group; so is our claim.
            await marking
            with contextlib.suppress(Exception):
                await self._idempotency.release(self.integration, event.event_id, owner=self.worker_id)
            raise
        except PermanentError as exc:
            await marking
            await self._permanent(held, event, keys, _describe(exc), claimed=True)
            return False
        except RetryableError as exc:
            await marking
            await self._retry(held, event, keys, exc, claimed=True)
            return False
        except Exception as exc:
            await marking
            self.log.exception("handler raised an unexpected error", extra=keys)
            await self._retry(held, event, keys, exc, claimed=True)
            return False
        finally:
            self.metrics.handler_latency(time.monotonic() - started)
        await marking
        try:
            await self._idempotency.mark_done(self.integration, event.event_id, owner=self.worker_id)
        except Exception as exc:
            self.log.warning(
                "could not record done in the idempotency store", extra={**keys, "error": _describe(exc)}
            )
        await self._mark(event, IntegrationStatus.DONE, keys)
        self.metrics.count("processed")
        self.log.info("processed", extra={**keys, "seconds": round(time.monotonic() - started, 4)})
        await self._acknowledge(held)
        return True

    # ---- outcomes --------------------------------------------------------------------------------

    async def _acknowledge(self, held: _Held) -> None:
        await held.lease.stop()
        self._deleter.add(held.delivery)

    async def _set_visibility(self, held: _Held, seconds: int) -> None:
        await held.lease.stop()
        await self._queue.change_visibility(held.delivery, seconds)

    async def _wait_for_claim_holder(self, event: DomainEvent, keys: dict[str, Any]) -> Claim:
        """Another worker holds the claim, almost always one that crashed: take over when it ends.

        The message stays with us meanwhile (its lease keeps extending the visibility), so waiting
        costs neither it nor the messages behind it in its group another receive. Leaving it
        instead would, and after a few crashes a message could reach ``maxReceiveCount`` and be
        dead-lettered on receive, letting the customer's next event overtake it.
        """
        self.log.info("claimed by another worker: waiting for its claim to end", extra=keys)
        deadline = time.monotonic() + self.settings.consumer_claim_seconds + 1
        claim = Claim.HELD
        while claim is Claim.HELD and not self.stopping and time.monotonic() < deadline:
            record = await self._idempotency.get(self.integration, event.event_id)
            remaining = 0.0 if record is None else record.expires_at - time.time()
            await asyncio.sleep(min(max(remaining, 0.0) + 0.05, 1.0))
            claim = await self._idempotency.claim(
                self.integration, event.event_id, owner=self.worker_id, attempt=keys["attempt"]
            )
        return claim

    async def _retry(
        self, held: _Held, event: DomainEvent, keys: dict[str, Any], exc: BaseException, *, claimed: bool
    ) -> None:
        delivery = held.delivery
        error = _describe(exc)
        if claimed:
            await self._release_claim(event, keys)
        self.metrics.count("failed")
        if delivery.receive_count >= self._max_receive_count:
            await self._mark(event, IntegrationStatus.DEAD, keys, attempt=delivery.receive_count, error=error)
            self.log.error("retries exhausted: to the dead-letter queue", extra={**keys, "error": error})
            await self._dead_letter(held, error)
            return
        retry_after = exc.retry_after if isinstance(exc, RetryableError) else None
        delay = retry_delay(
            delivery.receive_count,
            base=self.settings.consumer_backoff_base,
            cap=self.settings.consumer_backoff_cap,
            retry_after=retry_after,
        )
        await self._mark(event, IntegrationStatus.RETRYING, keys, attempt=delivery.receive_count, error=error)
        self.metrics.count("retried")
        self.log.warning("will retry", extra={**keys, "error": error, "retry_in": delay})
        await self._set_visibility(held, delay)

    async def _permanent(
        self,
        held: _Held,
        event: DomainEvent | None,
        keys: dict[str, Any],
        reason: str,
        *,
        claimed: bool = False,
    ) -> None:
        """Never retried: straight to the DLQ with the reason, in the ledger and on the message."""
        if claimed and event is not None:
            await self._release_claim(event, keys)
        self.metrics.count("failed")
        if event is not None:
            await self._mark(
                event, IntegrationStatus.DEAD, keys, attempt=held.delivery.receive_count, error=reason
            )
        self.log.error("permanent failure: to the dead-letter queue", extra={**keys, "error": reason})
        await self._dead_letter(held, reason)

    async def _dead_letter(self, held: _Held, reason: str) -> None:
        """Move the message to the DLQ now (send, then delete).

        Waiting for SQS to move it after ``maxReceiveCount`` receives would also burn the receive
        counts of the messages behind it in its group, which come back in the same batches and are
        released each time, and would dead-letter them too. If the DLQ cannot be written, the
        message is made visible again and SQS's redrive policy remains the safety net.
        """
        self.metrics.count("dead")
        if self._dlq_url is not None and await self._queue.send_to_dead_letter(
            self._dlq_url, held.delivery, reason
        ):
            await self._acknowledge(held)
        else:
            await self._set_visibility(held, 0)

    async def _release_claim(self, event: DomainEvent, keys: dict[str, Any]) -> None:
        try:
            await self._idempotency.release(self.integration, event.event_id, owner=self.worker_id)
        except Exception as exc:
            self.log.warning("could not release the claim", extra={**keys, "error": _describe(exc)})

    async def _mark(
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
                "ledger write failed", extra={**keys, "status": status.value, "error": _describe(exc)}
            )
