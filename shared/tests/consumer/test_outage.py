"""The circuit breaker in the running consumer, against moto over HTTP and a recording downstream."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from billing_testing.consumer_harness import running, wait_until
from billing_testing.example_consumer import build
from lovia_billing import Integration, Topology
from lovia_billing.breakers import BreakerBoard
from lovia_billing.consumer._breaker import BreakerState
from lovia_billing.ledger import IntegrationStatus

INTEGRATION = Integration.ERPNEXT
#: Fast breaker: opens on 3 groups within 10 s, probes after 0.2 s, doubling up to 1 s.
BREAKER = {
    "consumer_breaker_groups": 3,
    "consumer_breaker_window_seconds": 10.0,
    "consumer_breaker_probe_seconds": 0.2,
    "consumer_breaker_probe_cap_seconds": 1.0,
}


async def _visible(aws: Any, url: str) -> int:
    attributes = await aws.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return sum(int(v) for v in attributes["Attributes"].values())


def _receives_by_event(rec: Any) -> dict[str, int]:
    """The highest ApproximateReceiveCount each event's handler saw."""
    most: dict[str, int] = defaultdict(int)
    for attempt in list(rec.attempts):
        most[attempt["event_id"]] = max(most[attempt["event_id"]], attempt["attempt"])
    return dict(most)


async def test_an_outage_opens_the_breaker_holds_receives_still_and_drains_in_order_after(
    make_settings: Any,
    recorder: Any,
    publish: Any,
    ledger: Any,
    aws: Any,
    dlq_url: str,
    topology: Topology,
    short_redrive: Any,
) -> None:
    # Three receives would dead-letter an event that spent them: the outage must spend none.
    await short_redrive(3)
    rec, _ = recorder
    events = await publish({f"cus_{n}": 3 for n in range(5)})
    rec.down = 503
    settings = make_settings(**BREAKER)
    board = BreakerBoard(aws.dynamodb, topology.idempotency_table, topology.stage)
    async with running(build(settings), settings) as consumer:
        breaker = consumer.outage.breaker
        await wait_until(lambda: not breaker.closed, within=15)
        published = await wait_until(lambda: _open_on(board), within=5)
        assert published.state in ("open", "probing")
        assert "503" in (published.last_error or "")
        # Many probe intervals pass: the probe is tried again and again, nothing else is received.
        await wait_until(lambda: breaker.probes >= 5, within=15)
        during = _receives_by_event(rec)
        await wait_until(lambda: breaker.probes >= 8, within=15)
        assert _receives_by_event(rec) == during, "no receive count climbs while the breaker is open"
        assert max(during.values()) <= 2
        tries = Counter(attempt["event_id"] for attempt in list(rec.attempts))
        assert max(tries.values()) >= 8  # the probe: one message tried again and again, one receive
        retrying = [
            e.integrations[INTEGRATION].last_error
            for e in [await ledger.get(event.event_id) for event in events]
            if e.integrations[INTEGRATION].status is IntegrationStatus.RETRYING
        ]
        waiting = [error for error in retrying if error.startswith("waiting: erpnext unavailable since ")]
        assert waiting, retrying
        # Only the failures before it opened (fewer than the groups that open it) went their own way.
        assert len(retrying) - len(waiting) < BREAKER["consumer_breaker_groups"], retrying

        rec.down = None  # the downstream is back
        await wait_until(lambda: len(rec.effects) == len(events), within=30)
        await wait_until(lambda: breaker.state is BreakerState.CLOSED, within=5)
        assert consumer.metrics.totals["breaker_opened"] == 1
        assert consumer.metrics.totals["dead"] == 0

    assert (await board.read(INTEGRATION)).state == "closed"  # type: ignore[union-attr]
    assert await _visible(aws, dlq_url) == 0
    order: dict[str, list[str]] = defaultdict(list)
    for effect in rec.effects:
        order[effect["customer_id"]].append(effect["seq"])
    assert all(seqs == sorted(seqs) for seqs in order.values()), order
    for event in events:
        entry = await ledger.get(event.event_id)
        assert entry.integrations[INTEGRATION].status is IntegrationStatus.DONE


async def test_one_customers_failures_are_its_own_and_keep_the_per_message_path(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any
) -> None:
    rec, _ = recorder
    events = await publish({"cus_bad": 1, "cus_x": 2, "cus_y": 2, "cus_z": 2})
    [bad] = [e for e in events if e.customer_id == "cus_bad"]
    rec.fail(bad.event_id, 503, times=None)
    settings = make_settings(**BREAKER, consumer_backoff_base=0.5, consumer_backoff_cap=1.0)
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: len(rec.effects) == len(events) - 1, within=20)
        await wait_until(lambda: len(rec.attempts_of(bad.event_id)) >= 3, within=20)
        assert consumer.outage.breaker.state is BreakerState.CLOSED
        assert consumer.metrics.totals["breaker_opened"] == 0
    state = (await ledger.get(bad.event_id)).integrations[INTEGRATION]
    assert state.status is IntegrationStatus.RETRYING
    assert "DownstreamUnavailable" in state.last_error  # its own error, not "waiting: ..."


async def test_a_worker_stopped_while_open_hands_its_probe_back_for_the_next_one(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any, aws: Any, dlq_url: str
) -> None:
    rec, _ = recorder
    events = await publish({f"cus_{n}": 2 for n in range(4)})
    rec.down = 503
    settings = make_settings(**BREAKER)
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: consumer.outage.probe is not None, within=15)
    rec.down = None
    successor = make_settings(**BREAKER, example_worker="successor")
    async with running(build(successor), successor):
        await wait_until(lambda: len(rec.effects) == len(events), within=30)
    assert await _visible(aws, dlq_url) == 0
    for event in events:
        assert (await ledger.get(event.event_id)).integrations[INTEGRATION].status is IntegrationStatus.DONE


async def _open_on(board: BreakerBoard) -> Any:
    status = await board.read(INTEGRATION)
    return status if status is not None and status.open else None
