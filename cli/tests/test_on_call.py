"""The on-call commands against moto over HTTP: DLQs at 80 columns, search, redrive once, version, watch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from billing_cli._redrive import Redrive
from billing_cli.main import app
from billing_testing.factories import invoice_story
from billing_testing.ledger import done_everywhere, record
from billing_testing.queues import QueueReader
from lovia_billing import Integration, Topology
from lovia_billing.consumer import Delivery
from lovia_billing.consumer._queue import QueueClient
from lovia_billing.ledger import IntegrationStatus
from lovia_billing.logs import get_logger

#: When the consumer first received the dead events, as the ``dead_letters`` fixture records it.
FIRST_RECEIVED = "2026-11-25T03:00:00+00:00"

BILLING = Path(sys.executable).parent / "billing"
ERPNEXT = Integration.ERPNEXT


def narrow(*args: str) -> Any:
    """``billing <args>`` on an 80-column terminal."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "80"})


def test_dlq_show_reads_at_80_columns_with_whole_event_ids(topology: Topology, dead_letters: Any) -> None:
    long_reason = "PermanentError: ERPNext answered 417 " + "because the customer record is missing " * 3
    events = dead_letters(
        {"cus_a": 2, "a-rather-long-customer-identifier-of-sixty-characters-0001": 1}, reason=long_reason
    )
    result = narrow("dlq", "show", "erpnext", "--stage", topology.stage)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    for event in events:
        assert event.event_id in lines  # alone on its line, whole: copy it straight into a command
    assert "first received 2026-11-25 03:00:00Z" in result.stdout  # when the consumer first had it
    assert "because the customer record" in result.stdout


def test_first_received_is_the_consumers_first_receipt_not_the_peek(
    topology: Topology, dead_letters: Any, billing_json: Any
) -> None:
    dead_letters({"cus_a": 1})
    for _ in range(2):  # peeking twice changes nothing
        [shown] = billing_json("dlq", "show", "erpnext", "--stage", topology.stage)
        assert shown["first_received"] == FIRST_RECEIVED
        assert shown["dead_since"] > FIRST_RECEIVED


def test_dlq_show_of_every_integration_with_a_limit(
    topology: Topology, dead_letters: Any, billing: Any, billing_json: Any
) -> None:
    dead_letters({"cus_a": 1, "cus_b": 1, "cus_c": 1})
    shown = billing_json("dlq", "show", "--limit", "2", "--stage", topology.stage)
    assert [m["integration"] for m in shown] == ["erpnext", "erpnext"]
    text = billing("dlq", "show", "--limit", "2", "--stage", topology.stage).stdout
    assert "showing 2 of about 3" in text
    for integration in ("xendit", "chartmogul", "mautic"):
        assert f"no dead messages in {integration}" in text


def test_dlq_show_summary_counts_by_integration_and_reason(
    topology: Topology, dead_letters: Any, billing_json: Any
) -> None:
    dead_letters({"cus_a": 2}, reason="PermanentError: 417 Customer missing")
    dead_letters({"cus_b": 1}, reason="ConfirmationMismatch: amount differs")
    summary = billing_json("dlq", "show", "--summary", "--stage", topology.stage)
    assert summary == [
        {"integration": "erpnext", "reason": "PermanentError", "count": 2},
        {"integration": "erpnext", "reason": "ConfirmationMismatch", "count": 1},
    ]
    table = narrow("dlq", "show", "--summary", "--stage", topology.stage)
    assert table.exit_code == 0
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    assert any(
        "erpnext" in line and " 2 " in line and "PermanentError" in line for line in table.stdout.splitlines()
    )


def test_redrive_moves_an_event_once_per_run_even_when_it_dies_again_meanwhile(
    topology: Topology, dead_letters: Any, billing: Any, reader: QueueReader, monkeypatch: pytest.MonkeyPatch
) -> None:
    [event] = dead_letters({"cus_a": 1})
    received: list[Delivery] = []
    real_delete = Redrive._delete

    async def delete_then_the_consumer_kills_it_again(
        self: Redrive, delivery: Delivery, dlq_url: str
    ) -> None:
        await real_delete(self, delivery, dlq_url)
        if received:  # it dies once more only (the code this guards against would loop for ever)
            return
        # The consumer, still failing, takes the copy and dead-letters it as the runtime does.
        queue = QueueClient(self.stage.sqs, await self.stage.source_url(ERPNEXT), get_logger("test"))
        [again] = await queue.receive(max_messages=1, wait_seconds=0, visibility=30)
        received.append(again)
        assert await queue.send_to_dead_letter(dlq_url, again, "PermanentError: still 417")
        await self.stage.sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=again.receipt_handle)

    monkeypatch.setattr(Redrive, "_delete", delete_then_the_consumer_kills_it_again)
    result = billing("dlq", "redrive", "erpnext", "--event-id", event.event_id, "--stage", topology.stage)
    assert result.exit_code == 0, result.output
    assert "moved 1, skipped 1, failed 0" in result.stdout
    assert f"skipped {event.event_id}: moved once in this run already" in result.stdout
    assert len(received) == 1
    assert reader.count(ERPNEXT) == 0  # not moved a second time
    assert reader.count(ERPNEXT, dlq=True) == 1  # back where the operator can see it
    [back] = reader.peek("erpnext", dlq=True)
    assert back["MessageAttributes"]["first_received_at"]["StringValue"] == FIRST_RECEIVED  # kept


def test_events_search_newest_first_with_each_integrations_status(
    topology: Topology, billing: Any, billing_json: Any
) -> None:
    paid = invoice_story("inv_paid", "cus_1", xendit_invoice_id="xinv_paid", payment_id="py-paid")
    dead = invoice_story("inv_dead", "cus_1", xendit_invoice_id="xinv_dead")
    outcomes: dict[str, Any] = {e.event_id: done_everywhere(e) for e in paid}
    outcomes[dead[1].event_id] = {ERPNEXT: (IntegrationStatus.DEAD, "PermanentError: 417 Customer missing")}
    record(topology, paid, outcomes, correlation_id="req-paid")
    record(topology, dead, outcomes, correlation_id="req-dead")

    def ids(*options: str) -> list[str]:
        return [e["event_id"] for e in billing_json("events", "search", *options, "--stage", topology.stage)]

    assert ids("--customer", "cus_1") == [e.event_id for e in reversed([*paid, *dead])]
    assert ids("--invoice", "inv_paid") == [e.event_id for e in reversed(paid)]
    assert ids("--xendit-id", "py-paid") == [paid[3].event_id, paid[2].event_id]
    assert ids("--correlation-id", "req-dead") == [dead[1].event_id, dead[0].event_id]
    assert ids("--customer", "cus_1", "--status", "dead", "--integration", "erpnext") == [dead[1].event_id]
    assert ids("--customer", "cus_1", "--limit", "2") == [dead[1].event_id, dead[0].event_id]
    [found] = billing_json("events", "search", "--xendit-id", "xinv_dead", "--stage", topology.stage)
    assert found["integrations"]["erpnext"]["status"] == "dead"
    assert found["invoice_id"] == "inv_dead"

    table = narrow("events", "search", "--invoice", "inv_dead", "--stage", topology.stage)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    issued_line = next(i for i, line in enumerate(lines) if dead[1].event_id in line)
    assert "invoice.issued" in lines[issued_line + 1]
    assert "erpnext dead" in lines[issued_line + 2]
    assert "PermanentError: 417 Customer missing" in table.stdout
    assert lines.index(next(line for line in lines if dead[0].event_id in line)) > issued_line  # newest first
    nothing = billing("events", "search", "--customer", "nobody", "--stage", topology.stage)
    assert nothing.exit_code == 0
    assert "no events" in nothing.stdout


def test_events_search_pages_on_with_after(topology: Topology, billing_json: Any, billing: Any) -> None:
    story = invoice_story("inv_p", "cus_p", xendit_invoice_id="x", payment_id="py")
    record(topology, story)
    text = billing(
        "events", "search", "--customer", "cus_p", "--limit", "3", "--stage", topology.stage
    ).stdout
    after = text.split("--after ")[1].split()[0]
    rest = billing_json(
        "events", "search", "--customer", "cus_p", "--after", after, "--stage", topology.stage
    )
    assert [e["event_id"] for e in rest] == [story[0].event_id]
    bad = billing("events", "search", "--customer", "cus_p", "--after", "nonsense", "--stage", topology.stage)
    assert bad.exit_code == 1
    assert "cursor" in bad.stderr


def test_version(billing: Any) -> None:
    result = billing("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"billing {version('billing-cli')}"


def test_queues_watch_refreshes_until_interrupted(topology: Topology, dead_letters: Any) -> None:
    dead_letters({"cus_a": 1})
    process = subprocess.Popen(
        [str(BILLING), "queues", "--watch", "0.5", "--stage", topology.stage],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    try:
        deadline = time.monotonic() + 30
        frames = 0
        output = ""
        while frames < 2 and time.monotonic() < deadline:
            output += process.stdout.readline() if process.stdout else ""
            frames = output.count(f"queues of stage {topology.stage!r}")
        assert frames >= 2, output
        process.send_signal(signal.SIGINT)
        _rest, errors = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, errors
    assert topology.dlq_name("erpnext") in output
    assert "refreshed every 0.5 s" in output


def test_every_on_call_command_answers_json_for_scripts(topology: Topology, dead_letters: Any) -> None:
    dead_letters({"cus_a": 1})
    done = subprocess.run(
        [str(BILLING), "dlq", "show", "--summary", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "BILLING_STAGE": topology.stage},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [{"integration": "erpnext", "reason": "PermanentError", "count": 1}]
