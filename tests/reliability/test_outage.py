"""An integration down for a while: its queue waits and then drains; the others never wait."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import pytest

from billing_testing.e2e import Client, make_flows, run_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# While Mautic is down its consumer backs off 1.5-3, 3-6, 6-12, 7.5-15 s: an outage shorter than
# those ~18 s is ridden out in the queue; a longer one dead-letters (see docs/reliability.md).
OUTAGE_BACKOFF = {"CONSUMER_BACKOFF_BASE": "3", "CONSUMER_BACKOFF_CAP": "15"}
OTHERS = ("erpnext", "chartmogul")


def _at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def test_mautic_down_then_back(fresh: Stack) -> None:
    row = TALLY.add(Row("integration down"))
    started = time.monotonic()
    fresh.restart("mautic-sync", env=OUTAGE_BACKOFF)
    flows = make_flows("out", 10)
    async with Client(fresh, [fresh.url("ingest")]) as client:
        fresh.stop_component("mautic-sandbox")
        row.kills += 1
        down_at = time.time()
        await run_flows(client, flows, concurrency=5)
        # Everything else completes while Mautic is still down.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            entries = [await client.ledger(f.event_ids()["payment.succeeded"]) for f in flows]
            if all(e and all(e["integrations"][i]["status"] == "done" for i in OTHERS) for e in entries):
                break
            await asyncio.sleep(0.3)
        else:
            pytest.fail("ERPNext and ChartMogul did not finish while Mautic was down")
        back_at = time.time()
        assert back_at - down_at < 15  # inside the retry budget above
        fresh.start_component("mautic-sandbox")
        verdict = await settle(client, flows, within=90)
        TALLY.record(row, verdict)
        row.events = client.sent
        assert verdict.ok, verdict

        for flow in flows:
            for event_type in ("customer.upserted", "invoice.issued", "payment.succeeded"):
                entry = await client.ledger(flow.event_ids()[event_type])
                assert entry is not None
                states = entry["integrations"]
                for name in OTHERS:  # never held back: done before Mautic came back, within seconds
                    done = _at(states[name]["updated_at"])
                    assert done < back_at, (flow.customer_id, event_type, name)
                    assert done - _at(entry["created_at"]) < 5, (flow.customer_id, event_type, name)
                assert _at(states["mautic"]["updated_at"]) > back_at  # Mautic's share waited
    row.seconds = time.monotonic() - started
