"""A poison event: dead-lettered with its reason, the cause fixed, redriven, processed once."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from billing_testing.e2e import ERPNEXT_AUTH, Client, check_downstream, make_flows, run_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import Stack, billing_cli

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


async def test_poison_event_redriven_after_the_fix(fresh: Stack) -> None:
    row = TALLY.add(Row("poison + redrive"))
    started = time.monotonic()
    flows = make_flows("psn", 4)
    poison = flows[0]
    poison.item_code = "PLAN-ENTERPRISE"  # no such Item in ERPNext: the Sales Invoice is refused
    async with Client(fresh, [fresh.url("ingest")]) as client:
        await run_flows(client, flows)
        dead_ids = [poison.event_ids()["invoice.issued"], poison.event_ids()["payment.succeeded"]]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            entries = [await client.ledger(e) for e in dead_ids]
            if all(e and e["integrations"]["erpnext"]["status"] == "dead" for e in entries):
                break
            await asyncio.sleep(0.3)
        else:
            pytest.fail(f"the poison flow did not reach the DLQ: {entries}")
        # The healthy flows are not held back by it.
        healthy = await asyncio.to_thread(check_downstream, fresh, flows[1:])
        assert healthy.ok, healthy

        shown = await asyncio.to_thread(billing_cli, fresh, "dlq", "show", "erpnext", "--json")
        assert shown.returncode == 0, shown.stderr
        assert set(dead_ids) <= {m["event_id"] for m in json.loads(shown.stdout)}

        # The fix: the Item is created in ERPNext. Then the operator redrives.
        created = await asyncio.to_thread(
            httpx.post,
            fresh.url("erpnext-sandbox") + "/api/resource/Item",
            headers=ERPNEXT_AUTH,
            json={"item_code": "PLAN-ENTERPRISE", "item_name": "Enterprise", "item_group": "Services"},
            timeout=10,
        )
        assert created.status_code == 200, created.text
        moved = await asyncio.to_thread(billing_cli, fresh, "dlq", "redrive", "erpnext", "--all", "--json")
        assert moved.returncode == 0, moved.stderr
        assert sorted(json.loads(moved.stdout)["moved"]) == sorted(dead_ids)
        verdict = await settle(client, flows, within=60)
        TALLY.record(row, verdict)
        row.events = client.sent
        assert verdict.ok, verdict
    row.seconds = time.monotonic() - started
