"""The consumer: long-polls one FIFO queue and schedules what it receives onto the pipeline.

Scheduling. Received messages are held per message group, sorted by ``SequenceNumber``. At most
``consumer_concurrency`` groups run at once, each in its own task that takes its messages one after
another, so a group never has two messages in flight and its order is kept. When a message does not
succeed (retry, permanent failure, claim held elsewhere, held back for an outage), the messages
behind it in that group are released (visibility 0) instead of processed: SQS will not hand them out
again while the failed head is invisible, so the group resumes in order after the head's redelivery.

Each message goes through ``Pipeline.run`` (parse → claim → handler → done), which returns an
``Outcome``; the ``OutageGuard`` reads every outcome into the circuit breaker, and the ``Disposer``
carries out what the outcome means (delete, back off, dead-letter). While the breaker is open the
pollers do not receive and no group is started. See ``docs/consumer-runtime.md``.
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
from pathlib import Path
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from lovia_billing._settings import ConsumerSettings
from lovia_billing.breakers import BreakerBoard
from lovia_billing.consumer._breaker import Breaker, BreakerPolicy
from lovia_billing.consumer._context import ClaimsPort, LedgerPort, PublisherPort
from lovia_billing.consumer._dispose import Backoff, Disposer
from lovia_billing.consumer._integration import IntegrationApp
from lovia_billing.consumer._lease import Held, Lease
from lovia_billing.consumer._message import Delivery
from lovia_billing.consumer._metrics import ConsumerMetrics
from lovia_billing.consumer._outage import OutageGuard
from lovia_billing.consumer._pipeline import Pipeline, describe
from lovia_billing.consumer._queue import DeleteBatcher, QueueClient
from lovia_billing.logs import get_logger
from lovia_billing.topology import MAX_RECEIVE_COUNT

if TYPE_CHECKING:
    from collections.abc import Callable

    from types_aiobotocore_sqs import SQSClient

#: While the buffer is full or the breaker open, the pollers still touch the heartbeat this often.
_IDLE_TICK_SECONDS = 5.0


def breaker_policy(settings: ConsumerSettings) -> BreakerPolicy:
    """The breaker's thresholds from the settings, scaled by ``consumer_time_scale``."""
    return BreakerPolicy(
        groups=settings.consumer_breaker_groups,
        window=settings.scaled(settings.consumer_breaker_window_seconds),
        probe_first=settings.scaled(settings.consumer_breaker_probe_seconds),
        probe_cap=settings.scaled(settings.consumer_breaker_probe_cap_seconds),
    )


class Consumer:
    """Runs one integration against its queue until ``stop()``; ``run_consumer`` wraps it for processes.

    Args:
        app: the integration's handlers and resources.
        settings: timings, concurrency, retry budget and breaker thresholds.
        sqs, queue_url: the source queue.
        dlq_url: where the runtime moves dead messages itself; None leaves that to SQS's redrive policy.
        idempotency: the claim store (layer 2 of exactly-once).
        ledger: where statuses are written; None writes none (benchmarks).
        publisher: how handlers publish follow-up events; None if the integration publishes nothing.
        breakers: where the breaker's state is published for ``billing queues``; None publishes nothing.
        max_receive_count: the queue's ``maxReceiveCount`` (``open_consumer`` reads the real one).
        clock: wall-clock seconds for the breaker (tests may pass their own).
    """

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
        breakers: BreakerBoard | None = None,
        logger: Logger | None = None,
        max_receive_count: int = MAX_RECEIVE_COUNT,
        worker_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.settings = settings
        self.integration = app.integration
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.log = logger or get_logger(f"{app.integration.value}_sync", settings.log_level)
        self.metrics = ConsumerMetrics(app.integration.value)
        self._queue = QueueClient(sqs, queue_url, self.log)
        self._deleter = DeleteBatcher(self._queue, sqs, self.log)
        self._health_file = Path(settings.health_file) if settings.health_file else None
        self._stopping = asyncio.Event()
        self._room = asyncio.Event()
        self._resumed = asyncio.Event()  # set while the breaker is closed
        self._resumed.set()
        self._waiting: OrderedDict[str, list[Held]] = OrderedDict()  # groups waiting for a slot
        self._running: dict[str, list[Held]] = {}  # groups being processed; head is in progress
        self._group_tasks: set[asyncio.Task[None]] = set()
        self._held = 0
        self.pipeline = Pipeline(
            app,
            idempotency=idempotency,
            ledger=ledger,
            publisher=publisher,
            logger=self.log,
            metrics=self.metrics,
            worker_id=self.worker_id,
            claim_seconds=settings.consumer_claim_seconds,
            stopping=lambda: self.stopping,
        )
        self.disposer = Disposer(
            self.pipeline,
            self._queue,
            self._deleter,
            dlq_url=dlq_url,
            max_receive_count=max_receive_count,
            backoff=Backoff(
                settings.scaled(settings.consumer_backoff_base),
                settings.scaled(settings.consumer_backoff_cap),
            ),
            claim_seconds=settings.consumer_claim_seconds,
            metrics=self.metrics,
            logger=self.log,
            stopping=lambda: self.stopping,
        )
        self.outage = OutageGuard(
            Breaker(breaker_policy(settings), clock),
            pipeline=self.pipeline,
            disposer=self.disposer,
            queue=self._queue,
            board=breakers,
            worker_id=self.worker_id,
            metrics=self.metrics,
            logger=self.log,
            new_held=self._hold,
            stopping=lambda: self.stopping,
            on_open=self._on_breaker_open,
            on_close=self._on_breaker_close,
            wait_seconds=settings.consumer_wait_seconds,
            visibility=settings.consumer_visibility_timeout,
        )

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
        prober = asyncio.create_task(self.outage.run())
        pollers = [asyncio.create_task(self._poll()) for _ in range(settings.consumer_pollers)]
        try:
            await self._stopping.wait()
        finally:
            self._stopping.set()
            deadline = asyncio.get_running_loop().time() + settings.consumer_grace_seconds
            # A receive cut short can at worst leave a batch invisible for one visibility timeout:
            # delayed, never lost. Waiting out a 20 s long poll would eat the grace period instead.
            for task in (*pollers, prober):
                task.cancel()
            await asyncio.gather(*pollers, prober, return_exceptions=True)
            await self.outage.close()
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
        await self.outage.close()  # a group that finished last may have left a probe in hand

    async def _release_waiting(self) -> None:
        held = [item for items in self._waiting.values() for item in items]
        self._waiting.clear()
        self._held -= len(held)
        self._room.set()
        await self.disposer.release(held)

    async def _flush_metrics_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.settings.consumer_metrics_seconds)
            self.metrics.flush()

    # ---- the breaker's effects on scheduling -----------------------------------------------------

    async def _on_breaker_open(self) -> None:
        """Stop receiving, and give back every message not yet started (no receive is spent on them)."""
        self._resumed.clear()
        await self._release_waiting()

    def _on_breaker_close(self) -> None:
        self._resumed.set()
        self._dispatch()

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
            if not self._resumed.is_set():  # the breaker is open: the probe loop alone receives
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._resumed.wait(), timeout=_IDLE_TICK_SECONDS)
                continue
            room = limit - self._held
            if room <= 0:
                self._room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._room.wait(), timeout=_IDLE_TICK_SECONDS)
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
                self.log.warning("receive failed", extra={"error": describe(exc)})
                await asyncio.sleep(1)
                continue
            await self._accept(deliveries)

    def _hold(self, delivery: Delivery) -> Held:
        """Start holding a received delivery: its lease keeps it invisible while we have it."""
        lease = Lease(
            self._queue,
            delivery,
            visibility=self.settings.consumer_visibility_timeout,
            interval=self.settings.consumer_visibility_timeout * self.settings.consumer_heartbeat_fraction,
        )
        lease.start()
        return Held(delivery, lease)

    async def _accept(self, deliveries: list[Delivery]) -> None:
        if not self.outage.closed:
            # A receive that was under way when the breaker opened: give the batch straight back.
            await self._queue.release(deliveries)
            return
        for delivery in deliveries:
            held = self._hold(delivery)
            group = delivery.group_id
            items = self._running[group] if group in self._running else self._waiting.setdefault(group, [])
            # In sequence order, but never ahead of a running head.
            start = 1 if group in self._running else 0
            keys = [item.delivery.sequence_number for item in items[start:]]
            items.insert(start + bisect.bisect_right(keys, delivery.sequence_number), held)
            self._held += 1
        self._dispatch()

    def _dispatch(self) -> None:
        while (
            self._waiting
            and len(self._running) < self.settings.consumer_concurrency
            and not self.stopping
            and self.outage.closed
        ):
            group, items = self._waiting.popitem(last=False)
            self._running[group] = items
            task = asyncio.create_task(self._run_group(group))
            self._group_tasks.add(task)
            task.add_done_callback(self._group_tasks.discard)

    # ---- one group -------------------------------------------------------------------------------

    async def _run_group(self, group: str) -> None:
        items = self._running[group]
        try:
            while items and not self.stopping and self.outage.closed:
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
            await self.disposer.release(rest)
            self._dispatch()

    async def _process(self, held: Held) -> bool:
        """One message: pipeline, breaker, disposition; True when its group may go on."""
        outcome = await self.pipeline.run(held.delivery, held.lease)
        if await self.outage.observe(held, outcome):
            return False  # held back for the outage (or kept as the probe)
        return await self.disposer.settle(held, outcome)
