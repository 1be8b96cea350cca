"""``billing queues``: counts per queue and DLQ; the oldest age peeked in DLQs only."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from billing_testing.queues import QueueReader
from lovia_billing import Integration, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.breakers import BreakerBoard, BreakerStatus

REGION = "ap-southeast-1"

BILLING = Path(sys.executable).parent / "billing"


def test_queues_as_json_in_a_real_process(topology: Topology, dead_letters: Any, reader: QueueReader) -> None:
    dead_letters({"cus_a": 2})
    reader.sqs.send_message(
        QueueUrl=reader.url(Integration.XENDIT), MessageBody='{"x": 1}', MessageGroupId="cus_x"
    )

    done = subprocess.run(
        [str(BILLING), "queues", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BILLING_STAGE": topology.stage},
        check=False,
    )

    assert done.returncode == 0, done.stderr
    states = {s["name"]: s for s in json.loads(done.stdout)}
    assert set(states) == {spec.name for spec in topology.queues()} | {
        spec.dlq_name for spec in topology.queues()
    }
    dlq = states[topology.dlq_name("erpnext")]
    assert (dlq["visible"], dlq["in_flight"], dlq["kind"]) == (2, 0, "dlq")
    assert dlq["oldest_age_from"] == "peek"
    assert 0 <= dlq["oldest_age_seconds"] < 60
    source = states[topology.queue_name("xendit")]
    assert (source["visible"], source["kind"]) == (1, "queue")
    # Source queues are never peeked (a receive counts towards maxReceiveCount); moto has no CloudWatch data.
    assert source["oldest_age_seconds"] is None
    assert reader.peek("xendit")[0]["Attributes"]["ApproximateReceiveCount"] == "1"  # only our own peek
    assert states[topology.queue_name("mautic")]["visible"] == 0


def test_queues_table(topology: Topology, dead_letters: Any, billing: Any) -> None:
    dead_letters({"cus_a": 1})
    result = billing("queues", "--stage", topology.stage)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if topology.dlq_name("erpnext") in line)
    assert " 1 " in line
    cells = [cell.strip() for cell in line.strip(" │").split("│")]
    assert cells[4].endswith("s")  # the oldest: an age in seconds, e.g. "0s"
    assert cells[5] == "-"  # a DLQ has no consumer, so no breaker


def _publish(topology: Topology, status: BreakerStatus) -> None:
    async def put() -> None:
        async with open_aws_clients(REGION) as clients:
            await BreakerBoard(clients.dynamodb, topology.idempotency_table, topology.stage).publish(status)

    asyncio.run(put())


def _status(
    integration: str, state: str, *, opened_ago: float | None, next_probe_in: float | None
) -> BreakerStatus:
    now = time.time()
    return BreakerStatus(
        integration=integration,
        state=state,
        since=now - 5,
        opened_at=None if opened_ago is None else now - opened_ago,
        next_probe_at=None if next_probe_in is None else now + next_probe_in,
        probes=7 if opened_ago else 0,
        last_error="DownstreamUnavailable: erpnext GET /api/resource/Customer: ConnectError"
        if opened_ago
        else None,
        worker="task-1",
        updated_at=now - 5,
    )


def test_queues_shows_each_consumers_breaker(topology: Topology, billing: Any, billing_json: Any) -> None:
    _publish(topology, _status("erpnext", "open", opened_ago=725, next_probe_in=60))
    _publish(topology, _status("mautic", "closed", opened_ago=None, next_probe_in=None))
    _publish(topology, _status("chartmogul", "open", opened_ago=4000, next_probe_in=-600))  # no live worker

    states = {s["name"]: s for s in billing_json("queues", "--stage", topology.stage)}
    erpnext = states[topology.queue_name("erpnext")]["breaker"]
    assert (erpnext["state"], erpnext["probes"], erpnext["worker"], erpnext["stale"]) == (
        "open",
        7,
        "task-1",
        False,
    )
    assert "ConnectError" in erpnext["last_error"]
    assert 720 <= erpnext["open_seconds"] < 780
    assert states[topology.queue_name("mautic")]["breaker"]["state"] == "closed"
    assert states[topology.queue_name("chartmogul")]["breaker"]["stale"] is True
    assert states[topology.queue_name("xendit")]["breaker"] is None  # never published
    assert states[topology.dlq_name("erpnext")]["breaker"] is None  # DLQs have no consumer

    result = billing("queues", "--stage", topology.stage)
    assert result.exit_code == 0, result.output
    lines = {
        name: next(line for line in result.stdout.splitlines() if f" {name} " in line)
        for name in (
            topology.queue_name("erpnext"),
            topology.queue_name("mautic"),
            topology.queue_name("chartmogul"),
            topology.queue_name("xendit"),
        )
    }
    assert "OPEN 12m" in lines[topology.queue_name("erpnext")]
    assert "closed" in lines[topology.queue_name("mautic")]
    assert "(stale?)" in lines[topology.queue_name("chartmogul")]
    assert lines[topology.queue_name("xendit")].rstrip(" │").endswith("-")
