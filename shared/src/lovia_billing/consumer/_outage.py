"""Riding out a downstream outage: the breaker's side effects, around the pure ``Breaker``.

Every outcome goes through ``observe``. While the breaker is closed nothing changes. When it opens
(the downstream failed as a system for several message groups) the consumer stops receiving and
releases what waits in its buffer; messages that fail for the outage afterwards are not retried by
their own backoff but *held back*: ledger ``retrying`` with "waiting: <integration> unavailable
since <time>", made visible again (no new receive happens while open), except one, which stays in
hand as the **probe**. At each due probe that one message is tried again without being received
again, so no receive count climbs with the outage's length (SQS lets a message stay invisible for
12 hours in all; a probe held for ``PROBE_HOLD_SECONDS`` is released and the next probe receives
one anew). When a probe (or any message) gets an answer from the downstream, the breaker closes
and the consumer resumes at full speed.

Each transition is logged, counted (EMF), and published to the ``BreakerBoard`` for ``billing queues``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from aws_lambda_powertools import Logger

from lovia_billing.breakers import BreakerBoard, BreakerStatus
from lovia_billing.consumer._breaker import Breaker, BreakerState, Signal, Transition
from lovia_billing.consumer._dispose import Disposer
from lovia_billing.consumer._lease import Held
from lovia_billing.consumer._message import Delivery
from lovia_billing.consumer._metrics import ConsumerMetrics
from lovia_billing.consumer._outcome import Outcome, signal_of
from lovia_billing.consumer._pipeline import Pipeline, describe
from lovia_billing.consumer._queue import QueueClient

__all__ = ["PROBE_HOLD_SECONDS", "OutageGuard"]

#: SQS refuses to keep a received message invisible longer than 12 hours in all.
PROBE_HOLD_SECONDS = 11 * 3600.0
#: The probe loop looks at the breaker at least this often (stop requests, a breaker just opened).
_TICK_SECONDS = 1.0


class OutageGuard:
    """Drives one integration's ``Breaker``: holds messages back, probes, publishes the state."""

    def __init__(
        self,
        breaker: Breaker,
        *,
        pipeline: Pipeline,
        disposer: Disposer,
        queue: QueueClient,
        board: BreakerBoard | None,
        worker_id: str,
        metrics: ConsumerMetrics,
        logger: Logger,
        new_held: Callable[[Delivery], Held],
        stopping: Callable[[], bool],
        on_open: Callable[[], Awaitable[None]],
        on_close: Callable[[], None],
        wait_seconds: int,
        visibility: int,
        hold_seconds: float = PROBE_HOLD_SECONDS,
    ) -> None:
        self.breaker = breaker
        self._pipeline = pipeline
        self._disposer = disposer
        self._queue = queue
        self._board = board
        self._worker_id = worker_id
        self._metrics = metrics
        self._log = logger
        self._new_held = new_held
        self._stopping = stopping
        self._on_open = on_open
        self._on_close = on_close
        self._wait_seconds = wait_seconds
        self._visibility = visibility
        self._hold_seconds = hold_seconds
        self._integration = pipeline.integration.value
        self._wake = asyncio.Event()
        #: The message kept in hand to be tried at each probe while the breaker is open.
        self.probe: Held | None = None
        self._probing = False  # a probe is being tried: it stays the one message kept in hand

    @property
    def closed(self) -> bool:
        return self.breaker.closed

    @property
    def holding_probe(self) -> bool:
        return self.probe is not None

    # ---- outcomes --------------------------------------------------------------------------------

    async def observe(self, held: Held, outcome: Outcome) -> bool:
        """Feed one outcome to the breaker; True when the message was taken to be held back."""
        signal = signal_of(outcome)
        group = held.delivery.group_id
        moved = self.breaker.record(group, signal, error=outcome.error, wait=outcome.retry_after)
        if moved is not None:
            await self._moved(moved)
        if signal is not Signal.UNAVAILABLE or self.breaker.closed:
            return False
        if held.delivery.receive_count >= self._disposer.max_receive_count:
            return False  # its own retries are spent: dead-lettered as before, with its reason
        await self._hold_back(held, outcome)
        return True

    async def _hold_back(self, held: Held, outcome: Outcome) -> None:
        """Called while the breaker is open; decides before any await, so a close cannot slip between
        (a probe taken after the breaker closed would be hidden by its lease for ever)."""
        self._metrics.count("held_back")
        keep = self._keep_as_probe(held)
        if keep:
            self._log.warning(
                "kept in hand as the breaker's probe", extra={**outcome.log, "error": outcome.error}
            )
        await self._disposer.mark_waiting(held, outcome, self._opened_at())
        if not keep:
            await self._disposer.release([held])

    def _keep_as_probe(self, held: Held) -> bool:
        """Make ``held`` the probe if the breaker is open and none is in hand; synchronous on purpose."""
        fresh = time.monotonic() - held.received_at < self._hold_seconds
        if self.breaker.closed or self.holding_probe or self._probing or self._stopping() or not fresh:
            return False
        self.probe = held  # its lease keeps it ours: the next probe tries it without a receive
        return True

    def _opened_at(self) -> float:
        return self.breaker.opened_at if self.breaker.opened_at is not None else time.time()

    # ---- probing ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """The probe loop, one task for the consumer's life; cancelled on shutdown."""
        await self._publish()
        while not self._stopping():
            delay = self.breaker.seconds_to_probe()
            if delay is None or delay > 0:
                self._wake.clear()
                timeout = _TICK_SECONDS if delay is None else min(delay, _TICK_SECONDS)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                continue
            await self._probe()

    async def _probe(self) -> None:
        self._probing = True
        try:
            await self._try_probe()
        except asyncio.CancelledError:
            raise
        except Exception:
            # A DynamoDB or SQS error mid-probe must not end the loop, or the breaker stays open.
            self._log.exception("probe failed: trying again after the interval")
            if self.breaker.state is BreakerState.PROBING:
                await self._moved(self.breaker.no_probe())
        finally:
            self._probing = False

    async def _try_probe(self) -> None:
        self._metrics.count("probes")
        await self._moved(self.breaker.begin_probe())
        held, self.probe = self.probe, None
        if held is None:
            held = await self._receive_one()
        if held is None:
            await self._moved(self.breaker.no_probe())
            return
        try:
            outcome = await self._pipeline.run(held.delivery, held.lease)
        except BaseException:
            await self._disposer.release([held])
            raise
        signal = signal_of(outcome)
        moved = self.breaker.end_probe(
            held.delivery.group_id, signal, error=outcome.error, wait=outcome.retry_after
        )
        if signal is Signal.UNAVAILABLE and not self.breaker.closed:
            self._probing = False  # this one may be kept again (it ends the probe)
            keep = self._keep_as_probe(held)
            await self._disposer.mark_waiting(held, outcome, self._opened_at())
            if not keep:
                await self._disposer.release([held])
        else:
            await self._disposer.settle(held, outcome)
        if moved is not None:
            await self._moved(moved)

    async def _receive_one(self) -> Held | None:
        try:
            deliveries = await self._queue.receive(
                max_messages=1, wait_seconds=self._wait_seconds, visibility=self._visibility
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._log.warning("probe receive failed", extra={"error": describe(exc)})
            return None
        return self._new_held(deliveries[0]) if deliveries else None

    async def close(self) -> None:
        """On shutdown: the probe in hand becomes visible again for the next worker."""
        held, self.probe = self.probe, None
        if held is not None:
            await self._disposer.release([held])

    # ---- transitions -----------------------------------------------------------------------------

    async def _moved(self, transition: Transition) -> None:
        state = self.breaker.snapshot()
        extra = {
            "integration": self._integration,
            "breaker": transition.after.value,
            "probes": state.probes,
            "last_error": state.last_error,
        }
        if transition.before is BreakerState.CLOSED and transition.after is BreakerState.OPEN:
            self._metrics.count("breaker_opened")
            self._log.error("circuit breaker open: not receiving until a probe succeeds", extra=extra)
            await self._on_open()
            self._wake.set()
        elif transition.after is BreakerState.CLOSED and transition.before is not BreakerState.CLOSED:
            self._metrics.count("breaker_closed")
            self._log.warning("circuit breaker closed: receiving again", extra=extra)
            # Closed by another message's answer: the probe in hand goes back to the queue, where
            # its group's turn comes again in order (kept, its lease would hide it for ever).
            await self.close()
            self._on_close()
        self._metrics.breaker(state.state is not BreakerState.CLOSED)
        await self._publish()

    async def _publish(self) -> None:
        if self._board is None:
            return
        state = self.breaker.snapshot()
        status = BreakerStatus(
            integration=self._integration,
            state=state.state.value,
            since=state.since,
            opened_at=state.opened_at,
            next_probe_at=state.next_probe_at,
            probes=state.probes,
            last_error=state.last_error,
            worker=self._worker_id,
            updated_at=time.time(),
        )
        try:
            await self._board.publish(status)
        except Exception as exc:
            self._log.warning("could not publish the breaker state", extra={"error": describe(exc)})
