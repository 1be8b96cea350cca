"""Redeliveries after success, crashed workers and SIGTERM: every effect exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from billing_testing.consumer_harness import running, wait_until
from billing_testing.example_consumer import build
from lovia_billing import Integration
from lovia_billing.ledger import IntegrationStatus

INTEGRATION = Integration.ERPNEXT


def _worker(settings: Any, name: str, tmp_path: Path, **env: str) -> subprocess.Popen[bytes]:
    """``python -m billing_testing.example_consumer`` with the test's settings, as a real process."""
    environment = {
        **os.environ,
        "BILLING_STAGE": settings.billing_stage,
        "EXAMPLE_RECORDER_URL": settings.example_recorder_url,
        "EXAMPLE_WORKER": name,
        "CONSUMER_WAIT_SECONDS": "1",
        "HEALTH_FILE": str(tmp_path / f"{name}.health"),
        **env,
    }
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "billing_testing.example_consumer"],
            env=environment,
            stdout=log,
            stderr=log,
        )


async def _status(ledger: Any, event_id: str) -> IntegrationStatus | None:
    entry = await ledger.get(event_id)
    return None if entry is None else entry.integrations[INTEGRATION].status


async def test_a_redelivery_after_success_has_no_second_effect(
    make_settings: Any, recorder: Any, publish: Any, aws: Any, queue_url: str
) -> None:
    rec, _ = recorder
    [event] = await publish({"cus_dup": 1})
    settings = make_settings()
    async with running(build(settings), settings) as consumer:
        await wait_until(lambda: consumer.metrics.totals["processed"] == 1)
        # The same body again with a new deduplication id: as if the 5-minute window had passed.
        await aws.sqs.send_message(
            QueueUrl=queue_url,
            MessageBody=event.body(),
            MessageGroupId=event.customer_id,
            MessageDeduplicationId="after-the-window",
        )
        await wait_until(lambda: consumer.metrics.totals["duplicate"] == 1)
    assert len(rec.effects_of(event.event_id)) == 1
    assert len(rec.started) == 1  # the handler did not even start


async def test_a_worker_killed_mid_handler_is_replaced_and_the_effect_happens_once(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any, tmp_path: Path
) -> None:
    rec, _ = recorder
    event, *followers = await publish({"cus_kill": 3})
    settings = make_settings()
    crashed = _worker(
        settings,
        "doomed",
        tmp_path,
        EXAMPLE_SLEEP_SECONDS="30",
        CONSUMER_VISIBILITY_TIMEOUT="2",
        CONSUMER_CLAIM_SECONDS="3",
    )
    try:
        await wait_until(lambda: [s for s in rec.started if s["worker"] == "doomed"], within=20)
        crashed.send_signal(signal.SIGKILL)
        assert crashed.wait(timeout=10) == -signal.SIGKILL
    finally:
        crashed.kill()
    killed_at = time.time()
    assert rec.effects == []  # it died before its effect
    assert await _status(ledger, event.event_id) is IntegrationStatus.PROCESSING

    survivor = make_settings(
        example_worker="survivor", consumer_visibility_timeout=2, consumer_claim_seconds=3
    )
    async with running(build(survivor), survivor) as consumer:
        await wait_until(lambda: len(rec.effects) == 3, within=20)
        await wait_until(lambda: consumer.metrics.totals["processed"] == 3)
    effect = rec.effects[0]
    assert [e["event_id"] for e in rec.effects] == [event.event_id, *(f.event_id for f in followers)]
    assert {e["worker"] for e in rec.effects} == {"survivor"}
    # Taken over only after the dead worker's claim had expired...
    assert effect["started_at"] - killed_at >= 1.0
    # ...by waiting for it with the messages in hand: the crash cost each message one receive and
    # the wait none, so a few crashes cannot push a customer's events to maxReceiveCount.
    assert [e["attempt"] for e in rec.effects] == [2, 2, 2]
    assert await _status(ledger, event.event_id) is IntegrationStatus.DONE


async def test_sigterm_finishes_in_flight_work_loses_nothing_and_exits_0(
    make_settings: Any, recorder: Any, publish: Any, ledger: Any, tmp_path: Path
) -> None:
    rec, _ = recorder
    events = await publish({f"cus_t{g}": 3 for g in range(4)})
    settings = make_settings()
    worker = _worker(
        settings, "terminated", tmp_path, EXAMPLE_SLEEP_SECONDS="1.5", CONSUMER_GRACE_SECONDS="10"
    )
    try:
        await wait_until(lambda: len(rec.started) >= 4, within=20)
        in_flight = {s["event_id"] for s in rec.started}
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
        stopped_in = time.monotonic() - signalled
    finally:
        worker.kill()
    assert stopped_in < 10
    # Every handler that had started finished its effect before the process left.
    assert in_flight <= {e["event_id"] for e in rec.effects}
    assert len(rec.effects) < len(events)  # some were left for the next worker...

    successor = make_settings(example_worker="successor")
    async with running(build(successor), successor):  # ...which takes them at once (released)
        await wait_until(lambda: len(rec.effects) == len(events), within=15)
    assert sorted(e["event_id"] for e in rec.effects) == sorted(e.event_id for e in events)
    for customer in {e.customer_id for e in events}:
        assert [e["seq"] for e in rec.effects if e["customer_id"] == customer] == ["0000", "0001", "0002"]
