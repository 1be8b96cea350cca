"""``billing queues``: every queue and DLQ of a stage, visible, in flight, delayed, oldest age, and
each integration's circuit breaker as its consumer last published it (``lovia_billing.breakers``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import typer
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError
from rich.table import Table

from billing_cli._aws import Stage, open_stage
from billing_cli._messages import receive
from billing_cli._options import JsonOption, StageOption
from billing_cli._output import age, console, iso, print_json, seconds_since
from lovia_billing import Integration
from lovia_billing.breakers import BreakerBoard, BreakerStatus

EPILOG = (
    "Example: billing queues --stage staging   |   billing queues --json | jq '.[] | select(.visible > 0)'"
)
#: A published open breaker whose next probe is this late has no live worker behind it.
STALE_AFTER_SECONDS = 120.0
_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class QueueState:
    integration: str
    kind: Literal["queue", "dlq"]
    name: str
    visible: int
    in_flight: int
    delayed: int
    oldest_age_seconds: float | None
    oldest_age_from: Literal["peek", "cloudwatch"] | None
    #: The source queue's consumer's circuit breaker (None for a DLQ, or if none was ever published).
    breaker: dict[str, Any] | None = None


def _breaker(status: BreakerStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    late = status.next_probe_at is not None and time.time() > status.next_probe_at + STALE_AFTER_SECONDS
    return {
        "state": status.state,
        "since": iso(status.since),
        "opened_at": iso(status.opened_at),
        "next_probe_at": iso(status.next_probe_at),
        "probes": status.probes,
        "last_error": status.last_error,
        "worker": status.worker,
        "updated_at": iso(status.updated_at),
        "stale": status.open and late,
        "open_seconds": round(time.time() - status.opened_at, 1) if status.opened_at else None,
    }


async def _breaker_of(stage: Stage, integration: Integration) -> dict[str, Any] | None:
    """What the consumer published; None where nothing was (or the stage has no table yet)."""
    board = BreakerBoard(stage.dynamodb, stage.topology.idempotency_table, stage.name)
    try:
        return _breaker(await board.read(integration))
    except (ClientError, BotoCoreError):
        return None


def breaker_cell(breaker: dict[str, Any] | None) -> str:
    """``closed``, ``OPEN 12m05s`` (or ``PROBING ...``), ``+ stale?`` when no worker keeps it; ``-``."""
    if breaker is None:
        return "-"
    if breaker["state"] == "closed":
        return "closed"
    text = f"{breaker['state'].upper()} {age(breaker['open_seconds'])}"
    return text + " (stale?)" if breaker["stale"] else text


async def _oldest_in_dlq(stage: Stage, url: str) -> float | None:
    """Peek the groups' heads (visibility 0): a DLQ has no redrive policy, so a receive costs nothing."""
    heads = await receive(stage.sqs, url, visibility=0)
    sent = [d.sent_at for d in heads if d.sent_at]
    return seconds_since(min(sent)) if sent else None


async def _oldest_from_cloudwatch(stage: Stage, name: str) -> float | None:
    """SQS publishes ``ApproximateAgeOfOldestMessage`` to CloudWatch only (the alarm's metric).

    Source queues are never peeked: a receive counts towards ``maxReceiveCount``. Without the metric
    (the local stand-in, no permission, an idle queue) the age is unknown.
    """
    now = datetime.now(UTC)
    with contextlib.suppress(BotoCoreError, ClientError):
        async with get_session().create_client("cloudwatch", region_name=stage.region) as cloudwatch:
            client: Any = cloudwatch
            response = await client.get_metric_statistics(
                Namespace="AWS/SQS",
                MetricName="ApproximateAgeOfOldestMessage",
                Dimensions=[{"Name": "QueueName", "Value": name}],
                StartTime=now - timedelta(minutes=10),
                EndTime=now,
                Period=60,
                Statistics=["Maximum"],
            )
            points = sorted(response.get("Datapoints", []), key=lambda p: p["Timestamp"])
            if points:
                return float(points[-1]["Maximum"])
    return None


async def _state(stage: Stage, integration: Integration, kind: Literal["queue", "dlq"]) -> QueueState:
    name = stage.topology.queue_name(integration) if kind == "queue" else stage.topology.dlq_name(integration)
    url = await stage.queue_url(name)
    counts = await stage.queue_attributes(url, *_COUNTS)
    visible, in_flight, delayed = (int(counts.get(key, "0")) for key in _COUNTS)
    oldest: float | None = None
    source: Literal["peek", "cloudwatch"] | None = None
    if kind == "dlq" and visible:
        oldest, source = await _oldest_in_dlq(stage, url), "peek"
    elif kind == "queue" and visible + in_flight:
        oldest, source = await _oldest_from_cloudwatch(stage, name), "cloudwatch"
    return QueueState(
        integration.value,
        kind,
        name,
        visible,
        in_flight,
        delayed,
        oldest,
        source if oldest is not None else None,
        await _breaker_of(stage, integration) if kind == "queue" else None,
    )


async def _states(stage_name: str) -> list[QueueState]:
    async with open_stage(stage_name) as stage:
        return list(
            await asyncio.gather(*(_state(stage, i, kind) for i in Integration for kind in ("queue", "dlq")))
        )


def queues(
    stage: StageOption = "local",
    as_json: JsonOption = False,
    watch: Annotated[
        float | None,
        typer.Option("--watch", min=0.5, metavar="SECONDS", help="Print again every SECONDS until Ctrl-C."),
    ] = None,
) -> None:
    """Every queue and DLQ of the stage: visible, in flight, delayed, age of the oldest message, and
    each consumer's circuit breaker (closed, or OPEN/PROBING for how long).

    A DLQ's oldest age is peeked from its messages' SentTimestamp; a source queue's comes from
    CloudWatch (ApproximateAgeOfOldestMessage) and is "-" where CloudWatch has none (locally). The
    breaker is what the consumer last published; "(stale?)" means its next probe is long overdue.
    """
    try:
        while True:
            states = asyncio.run(_states(stage))
            if as_json:
                print_json([asdict(s) for s in states])
            else:
                _print_table(stage, states, watch)
            if watch is None:
                return
            console.file.flush()  # a pipe (`| tee`) sees each refresh as it comes
            time.sleep(watch)
    except KeyboardInterrupt:
        if watch is None:
            raise


def _print_table(stage: str, states: list[QueueState], watch: float | None) -> None:
    caption = f"refreshed every {watch:g} s at {datetime.now(UTC):%H:%M:%S}Z; Ctrl-C stops" if watch else None
    table = Table(title=f"queues of stage {stage!r}", caption=caption)
    for column in ("queue", "visible", "in flight", "delayed", "oldest", "breaker"):
        table.add_column(column, justify="left" if column in ("queue", "breaker") else "right")
    for s in states:
        dead = s.kind == "dlq" and s.visible + s.in_flight > 0
        held = s.breaker is not None and s.breaker["state"] != "closed"
        style = "bold red" if dead else "bold yellow" if held else None
        cells = (str(s.visible), str(s.in_flight), str(s.delayed), age(s.oldest_age_seconds))
        table.add_row(s.name, *cells, breaker_cell(s.breaker), style=style)
    console.print(table)
