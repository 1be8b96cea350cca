"""Keeps a held message invisible (and its idempotency claim alive) for as long as we hold it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lovia_billing.consumer._message import Delivery
from lovia_billing.consumer._queue import QueueClient


class Lease:
    """A heartbeat for one delivery: every ``interval`` seconds, extend visibility to ``visibility``.

    Started when the message is received (so messages waiting behind their group's head stay
    invisible too), stopped before the runtime sets the message's final visibility or deletes it.
    ``stop`` waits for a change already on the wire instead of cancelling it, so a late heartbeat can
    never overwrite the retry delay that follows.
    """

    def __init__(self, queue: QueueClient, delivery: Delivery, *, visibility: int, interval: float) -> None:
        self._queue = queue
        self._delivery = delivery
        self._visibility = visibility
        self._interval = interval
        self._stopped = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        #: Called on each beat while the handler runs (renews the idempotency claim).
        self.on_beat: Callable[[], Awaitable[object]] | None = None
        self.extensions = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._beat())

    async def stop(self) -> None:
        self._stopped.set()
        if self._task is not None:
            await self._task

    async def _beat(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self._interval)
            if self._stopped.is_set():
                return
            try:
                if not await self._queue.change_visibility(self._delivery, self._visibility):
                    return  # the handle is stale: the message is no longer ours to extend
                self.extensions += 1
                if self.on_beat is not None:
                    await self.on_beat()
            except Exception:  # noqa: S112 - a network blip: try again on the next beat
                continue


@dataclass
class Held:
    """A delivery we hold, with the lease that keeps it ours (``received_at``: monotonic seconds)."""

    delivery: Delivery
    lease: Lease
    received_at: float = field(default_factory=time.monotonic)
