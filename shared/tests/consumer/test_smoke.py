"""The simplest path: published events are handled once each and deleted; the ledger says done."""

from __future__ import annotations

from typing import Any

from billing_testing.consumer_harness import running, wait_until
from billing_testing.example_consumer import build
from lovia_billing import Integration
from lovia_billing.ledger import IntegrationStatus

INTEGRATION = Integration.ERPNEXT


async def test_events_are_processed_once_and_marked_done(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any
) -> None:
    rec, _ = recorder
    events = await publish({"cus_a": 2, "cus_b": 1})
    settings = make_settings()
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: len(rec.effects) == 3)
        await wait_until(lambda: consumer.metrics.totals["processed"] == 3)
    assert sorted(e["event_id"] for e in rec.effects) == sorted(e.event_id for e in events)
    for event in events:
        entry = await ledger.get(event.event_id)
        assert entry.integrations[INTEGRATION].status is IntegrationStatus.DONE
    assert rec.effects[0]["correlation_id"].startswith("corr-")
