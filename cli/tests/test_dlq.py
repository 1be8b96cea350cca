"""``billing dlq show|redrive`` against moto: nothing lost, nothing doubled, order kept."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from typer.testing import Result

from billing_cli._redrive import Redrive
from billing_testing.queues import QueueReader
from lovia_billing import Integration, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.ledger import IntegrationStatus, Ledger

ERPNEXT = Integration.ERPNEXT


def _ids(messages: list[dict[str, Any]]) -> list[str]:
    return [json.loads(m["Body"])["event_id"] for m in messages]


def _by_group(messages: list[dict[str, Any]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for message in messages:
        groups.setdefault(message["Attributes"]["MessageGroupId"], []).append(
            json.loads(message["Body"])["event_id"]
        )
    return groups


def _status(topology: Topology, event_id: str) -> IntegrationStatus:
    async def read() -> IntegrationStatus:
        async with open_aws_clients("ap-southeast-1") as clients:
            entry = await Ledger(clients.dynamodb, topology.ledger_table).get(event_id)
            assert entry is not None
            return entry.integrations[ERPNEXT].status

    return asyncio.run(read())


def test_show_lists_dead_messages_with_the_ledger_error_and_leaves_them_visible(
    topology: Topology, dead_letters: Any, billing_json: Any, billing: Any, reader: QueueReader
) -> None:
    [first, second] = dead_letters({"cus_a": 1, "cus_b": 1}, reason="PermanentError: 422 Missing customer")

    shown = billing_json("dlq", "show", "erpnext", "--stage", topology.stage)

    assert {m["event_id"] for m in shown} == {first.event_id, second.event_id}
    row = next(m for m in shown if m["event_id"] == first.event_id)
    assert row["event_type"] == "customer.upserted"
    assert row["customer_id"] == "cus_a"
    assert row["receive_count"] == 5
    assert row["last_error"] == "PermanentError: 422 Missing customer"
    assert row["ledger_status"] == "dead"
    assert row["first_received"] is not None
    table = billing("dlq", "show", "erpnext", "--stage", topology.stage)
    assert table.exit_code == 0
    assert first.event_id in table.stdout
    assert "422 Missing customer" in table.stdout
    # Peeked, not taken: both are visible again at once, for the next command.
    attributes = reader.sqs.get_queue_attributes(
        QueueUrl=reader.url(ERPNEXT, dlq=True), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "2"


def test_show_of_an_empty_dlq_says_so(topology: Topology, billing: Any) -> None:
    result = billing("dlq", "show", "mautic", "--stage", topology.stage)
    assert result.exit_code == 0
    assert "no dead messages in mautic" in result.stdout


def test_redrive_keeps_the_group_and_its_order_and_marks_the_ledger_queued(
    topology: Topology, dead_letters: Any, billing: Any, reader: QueueReader, drain: Any
) -> None:
    events = dead_letters({"cus_a": 4, "cus_b": 3})

    result = billing("dlq", "redrive", "erpnext", "--all", "--stage", topology.stage)

    assert result.exit_code == 0, result.output
    assert "moved 7, skipped 0, failed 0" in result.stdout
    assert reader.count(ERPNEXT, dlq=True) == 0
    moved = drain(reader.url(ERPNEXT))
    assert _by_group(moved) == {
        "cus_a": [e.event_id for e in events if e.customer_id == "cus_a"],
        "cus_b": [e.event_id for e in events if e.customer_id == "cus_b"],
    }
    attributes = moved[0]["MessageAttributes"]
    assert "dead_reason" not in attributes
    assert attributes["correlation_id"]["StringValue"].startswith("corr-")
    assert _status(topology, events[0].event_id) is IntegrationStatus.QUEUED


def test_dry_run_changes_nothing(
    topology: Topology, dead_letters: Any, billing: Any, reader: QueueReader
) -> None:
    events = dead_letters({"cus_a": 2, "cus_b": 1})

    result = billing("dlq", "redrive", "erpnext", "--dry-run", "--stage", topology.stage)  # all, implied

    assert result.exit_code == 0, result.output
    assert "would move 3" in result.stdout
    assert "nothing changed" in result.stdout
    assert reader.count(ERPNEXT) == 0
    visible = reader.sqs.get_queue_attributes(
        QueueUrl=reader.url(ERPNEXT, dlq=True), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    assert visible == "3"  # given back at once, not hidden
    assert all(_status(topology, e.event_id) is IntegrationStatus.DEAD for e in events)


def test_redrive_of_chosen_events_moves_only_those(
    topology: Topology, dead_letters: Any, billing_json: Any, reader: QueueReader, drain: Any
) -> None:
    events = dead_letters({"cus_a": 2, "cus_b": 2})
    chosen = [events[1].event_id, events[3].event_id]

    report = billing_json(
        "dlq",
        "redrive",
        "erpnext",
        "--event-id",
        chosen[0],
        "--event-id",
        chosen[1],
        "--stage",
        topology.stage,
    )

    assert sorted(report["moved"]) == sorted(chosen)
    assert len(report["skipped"]) == 2
    assert sorted(_ids(drain(reader.url(ERPNEXT)))) == sorted(chosen)
    assert reader.count(ERPNEXT, dlq=True) == 2


def test_redrive_of_an_event_not_in_the_dlq_is_an_error(
    topology: Topology, dead_letters: Any, billing: Any, reader: QueueReader
) -> None:
    dead_letters({"cus_a": 1})
    result = billing("dlq", "redrive", "erpnext", "--event-id", "evt-missing", "--stage", topology.stage)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: not in the erpnext DLQ: evt-missing"]
    assert reader.count(ERPNEXT) == 0


@pytest.mark.parametrize("crash_in", ["_send_copy", "_delete"])
def test_an_interrupted_redrive_run_again_moves_every_message_exactly_once_in_order(
    crash_in: str,
    topology: Topology,
    dead_letters: Any,
    billing: Callable[..., Result],
    reader: QueueReader,
    drain: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = dead_letters({"cus_a": 4, "cus_b": 3})
    real = getattr(Redrive, crash_in)
    calls = 0

    async def crash_on_the_fourth(self: Redrive, *args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 4:  # _delete: the 4th copy is in the source queue, its original still in the DLQ
            raise RuntimeError("simulated crash")
        await real(self, *args)

    monkeypatch.setattr(Redrive, crash_in, crash_on_the_fourth)
    first = billing("dlq", "redrive", "erpnext", "--all", "--stage", topology.stage)
    assert isinstance(first.exception, RuntimeError)
    assert reader.count(ERPNEXT, dlq=True) == 4  # 3 moved; the rest given back, not lost
    monkeypatch.setattr(Redrive, crash_in, real)

    second = billing("dlq", "redrive", "erpnext", "--all", "--stage", topology.stage)

    assert second.exit_code == 0, second.output
    assert "moved 4, skipped 0, failed 0" in second.stdout
    assert reader.count(ERPNEXT, dlq=True) == 0
    moved = drain(reader.url(ERPNEXT))
    assert sorted(_ids(moved)) == sorted(e.event_id for e in events)  # each exactly once
    assert _by_group(moved) == {
        group: [e.event_id for e in events if e.customer_id == group] for group in ("cus_a", "cus_b")
    }
