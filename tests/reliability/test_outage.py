"""A downstream down far longer than the old retry budget: nothing dead-letters, the others never wait.

Each of ERPNext, ChartMogul and Mautic is stopped in turn while flows run, twice: for ``OUTAGES``
seconds of this run, which under ``CONSUMER_TIME_SCALE`` are 13 and 33 minutes of production time
(every other timing of the down integration's consumer is production's, scaled the same way). Its
queue dead-letters after ``OLD_MAX_RECEIVE_COUNT`` receives, the budget that used to send events to
the DLQ after 15 to 30 s: only the circuit breaker can keep them out of it. The test checks
0 dead letters, every event ``done`` in order once the system is back, the other integrations done
within seconds while it is down, the breaker shown open by ``billing queues`` and the held events
``waiting`` in the ledger, and that the receives a message takes do not grow with the outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from billing_testing.e2e import Client, Flow, Queues, make_flows, run_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import Stack, billing_cli
from lovia_billing.topology import MAX_RECEIVE_COUNT, Topology

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: One second here is 100 s of production time for the down integration's consumer.
TIME_SCALE = 0.01
PRODUCTION_TIMINGS = {
    "CONSUMER_TIME_SCALE": str(TIME_SCALE),
    "CONSUMER_BACKOFF_BASE": "2",
    "CONSUMER_BACKOFF_CAP": "43200",
    "CONSUMER_BREAKER_GROUPS": "3",
    "CONSUMER_BREAKER_WINDOW_SECONDS": "120",
    "CONSUMER_BREAKER_PROBE_SECONDS": "5",
    "CONSUMER_BREAKER_PROBE_CAP_SECONDS": "300",
}
#: The receives that used to be production's whole budget (about 15 - 30 s of a downstream down).
OLD_MAX_RECEIVE_COUNT = 5
OUTAGES = (8.0, 20.0)
DOWNSTREAMS = ("erpnext", "chartmogul", "mautic")
EVENT_ORDER = ("customer.upserted", "invoice.issued", "payment.succeeded")


def _at(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


@contextlib.contextmanager
def old_receive_budget(stack: Stack, integration: str) -> Iterator[None]:
    """The integration's queue dead-letters after ``OLD_MAX_RECEIVE_COUNT`` receives, then production's."""
    queues = Queues(stack)
    url, dlq = queues.urls[integration], queues.urls[f"{integration}-dlq"]
    arn = queues.sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def set_to(receives: int) -> None:
        policy = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": str(receives)})
        queues.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": policy})

    set_to(OLD_MAX_RECEIVE_COUNT)
    try:
        yield
    finally:
        set_to(MAX_RECEIVE_COUNT)


async def _breaker(stack: Stack, integration: str) -> dict[str, Any] | None:
    done = await asyncio.to_thread(billing_cli, stack, "queues", "--json")
    assert done.returncode == 0, done.stderr
    name = Topology(stack.stage).queue_name(integration)
    [state] = [s for s in json.loads(done.stdout) if s["name"] == name]
    breaker: dict[str, Any] | None = state["breaker"]
    return breaker


async def _one_outage(stack: Stack, down: str, seconds: float) -> list[int]:
    """Stop ``down`` for ``seconds`` while flows run; check everything; the receives of its events."""
    row = TALLY.add(Row(f"{down} down {seconds:.0f} s", down_seconds=seconds))
    started = time.monotonic()
    others = [name for name in DOWNSTREAMS if name != down]
    flows = make_flows(f"o{down[:2]}{int(seconds)}", 6)
    async with Client(stack, [stack.url("ingest")]) as client:
        stack.stop_component(f"{down}-sandbox")
        row.kills += 1
        down_at = time.time()
        await run_flows(client, flows, concurrency=3)
        await _others_finish(client, flows, others, within=20)
        breaker = await _breaker(stack, down)
        assert breaker is not None
        assert breaker["state"] in ("open", "probing"), breaker
        # Events failed before the breaker opened come back after their backoff and are held then:
        # look until shortly before the downstream returns, not once.
        held: list[str] = []
        while not held and time.time() < down_at + seconds - 1:
            held = await _waiting(client, flows, down)
            await asyncio.sleep(0 if held else 0.3)
        assert held, f"no event of {down} is shown waiting for it"
        await asyncio.sleep(max(0.0, down_at + seconds - time.time()))
        assert await asyncio.to_thread(Queues(stack).dead) == []  # nothing dead-lettered meanwhile
        back_at = time.time()
        stack.start_component(f"{down}-sandbox")
        verdict = await settle(client, flows, within=90)
        TALLY.record(row, verdict)
        row.events = client.sent
        assert verdict.ok, verdict
        assert (await _breaker(stack, down) or {}).get("state") == "closed"
        receives = await _check_order_and_delays(client, flows, down, others, back_at)
    row.max_receives = max(receives)
    row.seconds = time.monotonic() - started
    return receives


async def _others_finish(client: Client, flows: list[Flow], others: list[str], *, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        entries = [await client.ledger(f.event_ids()["payment.succeeded"]) for f in flows]
        if all(e and all(e["integrations"][i]["status"] == "done" for i in others) for e in entries):
            return
        await asyncio.sleep(0.3)
    pytest.fail(f"{others} did not finish while the other downstream was down")


async def _waiting(client: Client, flows: list[Flow], down: str) -> list[str]:
    """Events of ``down`` held back by its open breaker (ledger ``retrying``, "waiting: ...")."""
    found = []
    for flow in flows:
        for event_id in flow.event_ids().values():
            entry = await client.ledger(event_id)
            state = (entry or {}).get("integrations", {}).get(down, {})
            if state.get("status") == "retrying" and (state.get("last_error") or "").startswith(
                f"waiting: {down} unavailable since "
            ):
                found.append(event_id)
    return found


async def _check_order_and_delays(
    client: Client, flows: list[Flow], down: str, others: list[str], back_at: float
) -> list[int]:
    receives = []
    for flow in flows:
        done_at = []
        for event_type in EVENT_ORDER:
            entry = await client.ledger(flow.event_ids()[event_type])
            assert entry is not None
            states = entry["integrations"]
            for name in others:  # never held back: done within seconds, before the system returned
                finished = _at(states[name]["updated_at"])
                assert finished < back_at, (flow.customer_id, event_type, name)
                assert finished - _at(entry["created_at"]) < 5, (flow.customer_id, event_type, name)
            assert states[down]["status"] == "done"
            done_at.append(_at(states[down]["updated_at"]))
            receives.append(int(states[down]["attempts"]))
        assert done_at == sorted(done_at), (flow.customer_id, down, "done out of order")
        assert done_at[-1] > back_at  # the down integration's share waited for it
    return receives


@pytest.mark.parametrize("down", DOWNSTREAMS)
async def test_a_downstream_down_far_longer_than_the_old_budget_loses_nothing(
    fresh: Stack, down: str
) -> None:
    receives: dict[float, list[int]] = {}
    with old_receive_budget(fresh, down):
        fresh.restart(f"{down}-sync", env=PRODUCTION_TIMINGS)
        for seconds in OUTAGES:
            receives[seconds] = await _one_outage(fresh, down, seconds)
    short, long = (receives[s] for s in OUTAGES)
    TALLY.notes.append(
        f"{down} down: receives per message, {OUTAGES[0]:.0f} s: max {max(short)} mean "
        f"{sum(short) / len(short):.2f}; {OUTAGES[1]:.0f} s: max {max(long)} mean {sum(long) / len(long):.2f}"
    )
    assert max(long) < OLD_MAX_RECEIVE_COUNT  # none came near the DLQ
    # Two and a half times the outage, not one receive more for any message.
    assert max(long) <= max(short) + 1
    assert sum(long) / len(long) <= sum(short) / len(short) + 0.5
