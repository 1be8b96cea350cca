"""The on-call story end to end: a poisoned message dies, is shown with its reason, is fixed, is
redriven, and is processed exactly once, by the runtime with the example consumer."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import Result

from billing_testing.consumer_harness import running, wait_until
from billing_testing.example_consumer import ExampleSettings, Recorder, build
from lovia_billing import CustomerUpserted, Integration, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import IntegrationStatus, Ledger
from lovia_billing.publisher import Publisher

ERPNEXT = Integration.ERPNEXT
BILLING = Path(sys.executable).parent / "billing"


def _settings(topology: Topology, recorder_url: str) -> ExampleSettings:
    return ExampleSettings(
        billing_stage=topology.stage,
        example_recorder_url=recorder_url,
        example_integration=ERPNEXT,
        consumer_wait_seconds=1,
        consumer_visibility_timeout=10,
        consumer_claim_seconds=10,
        consumer_backoff_base=0.5,
        consumer_backoff_cap=1.0,
        consumer_grace_seconds=5.0,
        consumer_metrics_seconds=1.0,
        example_worker="in-process",
    )


async def _dlq_size(topology: Topology) -> int:
    async with open_aws_clients("ap-southeast-1") as clients:
        url = (await clients.sqs.get_queue_url(QueueName=topology.dlq_name(ERPNEXT)))["QueueUrl"]
        attributes = await clients.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
        return sum(int(v) for v in attributes["Attributes"].values())


async def test_poison_to_dlq_show_fix_redrive_processed_exactly_once(
    topology: Topology, serve_asgi: Callable[[Any], str], billing: Callable[..., Result]
) -> None:
    recorder = Recorder()
    settings = _settings(topology, serve_asgi(recorder))
    poison, healthy = (
        CustomerUpserted.create(
            customer_id=customer, request_key="k1", email=f"{customer}@example.com", name="Budi"
        )
        for customer in ("cus_poison", "cus_ok")
    )
    recorder.fail(poison.event_id, 422, times=None)  # ERPNext refuses it until someone fixes the cause
    async with open_aws_clients("ap-southeast-1") as clients:
        ledger = Ledger(clients.dynamodb, topology.ledger_table)
        publisher = Publisher(clients.sqs, topology, ledger)
        for event in (poison, healthy):
            await publisher.publish(event, correlation_id=f"corr-{event.customer_id}", integrations=[ERPNEXT])
        async with running(build(settings), settings):
            await wait_until(lambda: recorder.effects_of(healthy.event_id), within=20)
            await wait_until(lambda: _dlq_size(topology), within=20)

        # On call: what is dead, and why (as a real process, the way an operator runs it).
        done = await asyncio.to_thread(
            subprocess.run,
            [str(BILLING), "dlq", "show", "erpnext", "--json", "--stage", topology.stage],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ),
            check=False,
        )
        assert done.returncode == 0, done.stderr
        [dead] = json.loads(done.stdout)
        assert dead["event_id"] == poison.event_id
        assert dead["customer_id"] == "cus_poison"
        assert "422" in dead["last_error"]
        assert dead["ledger_status"] == "dead"

        recorder.fail(poison.event_id, 200, times=0)  # the cause is fixed
        result = await asyncio.to_thread(
            billing, "dlq", "redrive", "erpnext", "--all", "--stage", topology.stage
        )
        assert result.exit_code == 0, result.output
        assert "moved 1, skipped 0, failed 0" in result.stdout
        entry = await ledger.get(poison.event_id)
        assert entry is not None
        assert entry.integrations[ERPNEXT].status is IntegrationStatus.QUEUED

        # A second redrive finds nothing: the message is not moved twice.
        again = await asyncio.to_thread(
            billing, "dlq", "redrive", "erpnext", "--all", "--stage", topology.stage
        )
        assert "moved 0" in again.stdout

        async with running(build(settings), settings):
            await wait_until(lambda: recorder.effects_of(poison.event_id), within=20)
            await asyncio.sleep(1.5)  # room for a duplicate to show up, were there one

        assert len(recorder.effects_of(poison.event_id)) == 1
        assert len(recorder.effects_of(healthy.event_id)) == 1
        assert await _dlq_size(topology) == 0
        entry = await ledger.get(poison.event_id)
        assert entry is not None
        assert entry.integrations[ERPNEXT].status is IntegrationStatus.DONE
