"""Rolling restart of the ingest under load: every request it acknowledged reaches downstream."""

from __future__ import annotations

import asyncio
import time

import pytest

from billing_testing.e2e import Client, make_flows, run_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_rolling_restart_loses_no_acknowledged_request(fresh: Stack) -> None:
    row = TALLY.add(Row("ingest rolling restart"))
    started = time.monotonic()
    if "ingest-2" not in fresh.procs:
        fresh.add_ingest("ingest-2")
    replicas = ("ingest", "ingest-2")
    flows = make_flows("rol", 24)

    async def roll() -> None:
        for _ in range(2):
            for name in replicas:  # one replica at a time, as a deployment does
                await asyncio.sleep(0.4)
                # SIGTERM: uvicorn drains and exits (re-raising the signal: -15); -9 would mean it hung.
                assert await asyncio.to_thread(fresh.stop_component, name) in (0, -15)
                row.kills += 1
                await asyncio.to_thread(fresh.start_component, name)

    async with Client(fresh, [fresh.url(n) for n in replicas], retry_for=30) as client:
        await asyncio.gather(run_flows(client, flows, concurrency=6), roll())
        verdict = await settle(client, flows, within=120)
        TALLY.record(row, verdict)
        row.events = client.sent
        assert verdict.ok, verdict
        # Every 2xx answer names an event of these flows, and settle() saw each of those done.
        known = {e for f in flows for e in f.event_ids().values()}
        acknowledged = {event_id for _path, event_id in client.acknowledged}
        assert acknowledged <= known
        assert len(client.acknowledged) == 2 * len(flows)
    assert row.kills == 4
    row.seconds = time.monotonic() - started
