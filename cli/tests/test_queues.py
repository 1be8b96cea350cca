"""``billing queues``: counts per queue and DLQ; the oldest age peeked in DLQs only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from billing_testing.queues import QueueReader
from lovia_billing import Integration, Topology

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
    assert line.rstrip(" │").endswith("s")  # an age in seconds, e.g. "0s"
