"""Crashes: every consumer SIGKILLed at random moments while a stream of events flows, restarted."""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from billing_testing.e2e import Client, make_flows, run_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import CONSUMERS, Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_sigkilled_consumers_lose_and_duplicate_nothing(fresh: Stack) -> None:
    row = TALLY.add(Row("consumers SIGKILLed"))
    started = time.monotonic()
    rng = random.Random(20261125)
    flows = make_flows("kil", 24)

    async def killer() -> None:
        order = [*CONSUMERS, *CONSUMERS]  # each consumer twice: 8 crashes
        rng.shuffle(order)
        for name in order:
            await asyncio.sleep(rng.uniform(0.3, 1.2))
            await asyncio.to_thread(fresh.kill, name)  # no SIGTERM: nothing flushed, claims kept
            row.kills += 1
            await asyncio.sleep(rng.uniform(0.1, 0.6))
            await asyncio.to_thread(fresh.start_component, name)

    async with Client(fresh, [fresh.url("ingest")]) as client:
        await asyncio.gather(run_flows(client, flows, concurrency=3), killer())
        verdict = await settle(client, flows, within=150)
        TALLY.record(row, verdict)
        row.events = client.sent
        assert verdict.ok, verdict
    assert row.kills >= 5
    row.seconds = time.monotonic() - started
