"""Helpers for tests and benchmarks of the consumer runtime: run a consumer in-process, wait for things."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from lovia_billing import ConsumerSettings
from lovia_billing.consumer import Consumer, IntegrationApp, open_consumer


@asynccontextmanager
async def running(app: IntegrationApp, settings: ConsumerSettings) -> AsyncIterator[Consumer]:
    """A consumer running in a task of this event loop; stopped and drained on exit."""
    async with open_consumer(app, settings) as consumer:
        task = asyncio.create_task(consumer.run_until_stopped())
        try:
            yield consumer
        finally:
            consumer.stop()
            await task


async def wait_until(predicate: Callable[[], Any], *, within: float = 20.0, interval: float = 0.05) -> Any:
    """Poll a sync or async predicate until it is truthy; ``TimeoutError`` after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {within} s")
        await asyncio.sleep(interval)


class Clock:
    """A clock that stands still until a test moves it (``clock.now += 61``): for claim expiries."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now
