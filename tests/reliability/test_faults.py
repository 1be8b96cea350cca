"""Downstream faults: every sandbox answers 5xx, 429 with its real system's wait header, hangs past
the client's timeout, and commits a write then answers 504, on a fraction of calls; then recovers.
A burst of them across customers may open a consumer's circuit breaker for a probe interval."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from billing_testing.e2e import Client, make_flows, run_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import SANDBOXES, Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# Bounded by ``count``, so no message can meet anything near its 19 receives of faults; the
# consumers' client timeouts are 2 s (FAST_CONSUMER_ENV).
RULES = [
    {"kind": "status", "status": 503, "probability": 0.1, "count": 6},
    {"kind": "status", "status": 502, "probability": 0.05, "count": 3},
    {"kind": "rate_limit", "retry_after": 1, "probability": 0.1, "count": 6},
    {"kind": "timeout", "hang_ms": 2500, "probability": 0.05, "count": 3},
    {"kind": "commit_then_fail", "method": "POST", "probability": 0.15, "count": 6},
    {"kind": "commit_then_fail", "method": "PUT", "probability": 0.15, "count": 3},
    {"kind": "commit_then_fail", "method": "PATCH", "probability": 0.15, "count": 3},
]


def _fired(stack: Stack) -> int:
    return sum(
        rule["fired"]
        for name in SANDBOXES
        for rule in httpx.get(stack.url(name) + "/_sandbox/faults", timeout=10).json()
    )


def _inject(stack: Stack) -> None:
    for name in SANDBOXES:
        for rule in RULES:
            httpx.post(stack.url(name) + "/_sandbox/faults", json=rule, timeout=10).raise_for_status()


def _recover(stack: Stack) -> None:
    for name in SANDBOXES:
        httpx.delete(stack.url(name) + "/_sandbox/faults", timeout=10).raise_for_status()


async def test_downstream_faults_then_recovery(fresh: Stack) -> None:
    row = TALLY.add(Row("downstream faults"))
    started = time.monotonic()
    await asyncio.to_thread(_inject, fresh)
    flows = make_flows("flt", 20)
    async with Client(fresh, [fresh.url("ingest")]) as client:
        await run_flows(client, flows, concurrency=5)
        await asyncio.sleep(3)  # let the stream meet the faults a while longer
        row.faults = await asyncio.to_thread(_fired, fresh)
        await asyncio.to_thread(_recover, fresh)
        verdict = await settle(client, flows, within=120)
        TALLY.record(row, verdict)
        row.events = client.sent
        assert verdict.ok, verdict
    assert row.faults >= 20  # the faults did fire
    row.seconds = time.monotonic() - started
