"""Duplicate deliveries: every callback three times at once, again after the SQS deduplication
window, client retries of the same request, and operator replays (plain and ``--force``)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from billing_testing.e2e import Client, Flow, Queues, make_flows, run_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import Stack, billing_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
DEDUP_WINDOW_SECONDS = 2  # the stand-in's window in this suite (conftest)


async def _cli(stack: Stack, *args: str) -> dict[str, Any]:
    done = await asyncio.to_thread(billing_cli, stack, *args, "--json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


async def test_every_duplicate_has_no_second_effect(fresh: Stack) -> None:
    row = TALLY.add(Row("duplicate deliveries"))
    started = time.monotonic()
    flows = make_flows("dup", 10)
    queues = Queues(fresh)
    async with Client(fresh, [fresh.url("ingest")]) as client:
        # The Xendit sandbox sends each PAID callback three times, in random order.
        await run_flows(client, flows, duplicates=2, shuffle=True)
        row.duplicates += 2 * len(flows)
        # A client retrying: the same PUT (same Idempotency-Key) and the same POST, three at once.
        retries = [client.put_customer(f) for f in flows for _ in range(3)]
        retries += [client.post_invoice(f) for f in flows for _ in range(3)]
        await asyncio.gather(*retries)
        row.duplicates += len(retries)
        # Each callback posted by us too, three copies at the same moment.
        bodies = [(await client.callbacks(f.xendit_id or ""))[0]["body"] for f in flows]
        answers = await asyncio.gather(*(client.post_callback(b) for b in bodies for _ in range(3)))
        assert {a.status_code for a in answers} == {200}
        for i, flow in enumerate(flows):
            ids = {a.json()["event_id"] for a in answers[3 * i : 3 * i + 3]}
            assert ids == {flow.event_ids()["xendit.invoice.paid"]}  # same callback, same event
        row.duplicates += len(answers)
        verdict = await settle(client, flows, within=90)
        TALLY.record(row, verdict)
        assert verdict.ok, verdict

        # After the window SQS takes the same body again: only the idempotency store stands in the way.
        # xendit_sync is stopped so the queue shows what SQS kept.
        assert fresh.stop_component("xendit-sync") == 0
        row.kills += 1
        await asyncio.sleep(DEDUP_WINDOW_SECONDS + 1)
        late = await asyncio.gather(*(client.post_callback(b) for b in bodies))
        assert {a.status_code for a in late} == {200}
        assert queues.counts()["xendit"] == len(flows)  # past the window: all queued again
        again = await asyncio.gather(*(client.post_callback(b) for b in bodies))
        assert queues.counts()["xendit"] == len(flows)  # within the window: SQS dropped these
        row.duplicates += len(late) + len(again)
        fresh.start_component("xendit-sync")
        verdict = await settle(client, flows, within=60)
        TALLY.record(row, verdict)
        assert verdict.ok, verdict

        # An operator's replay of a done event is skipped; --force clears the idempotency record, so
        # the handlers run again and only the downstream natural keys prevent a second record.
        plain = await _cli(fresh, "events", "replay", flows[0].event_ids()["payment.succeeded"])
        assert plain["sent"] == []
        assert len(plain["skipped"]) == 3

        # Flows in parallel, each flow's events in their order: replaying an older event after a
        # newer one would re-apply its state (e.g. Mautic's open-invoice tag after the payment).
        async def replay_flow(flow: Flow) -> int:
            sent = 0
            for event_id in flow.event_ids().values():
                sent += len((await _cli(fresh, "events", "replay", event_id, "--force"))["sent"])
            return sent

        row.duplicates += sum(await asyncio.gather(*(replay_flow(f) for f in flows[:2])))
        await asyncio.sleep(DEDUP_WINDOW_SECONDS + 1)  # republished events are past the window too
        verdict = await settle(client, flows, within=60)
        TALLY.record(row, verdict)
        assert verdict.ok, verdict
        row.events = client.sent
    row.seconds = time.monotonic() - started
