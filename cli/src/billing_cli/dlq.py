"""``billing dlq show|redrive <integration>``: what is dead and why, and putting it back."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from billing_cli._aws import Stage, open_stage
from billing_cli._errors import OperatorError
from billing_cli._layout import line, reason_of, status, when
from billing_cli._messages import peeking
from billing_cli._native_redrive import native_redrive
from billing_cli._options import JsonOption, StageOption
from billing_cli._output import console, iso, print_json
from billing_cli._redrive import Outcome, Redrive, RedriveReport
from lovia_billing import Integration, parse_event
from lovia_billing.consumer import FIRST_RECEIVED_ATTRIBUTE, Delivery

dlq_app = typer.Typer(
    name="dlq",
    help="Dead-letter queues: see what is dead and why, and move it back to its source queue.",
    no_args_is_help=True,
)

IntegrationArgument = Annotated[
    Integration, typer.Argument(help="xendit, erpnext, chartmogul or mautic.", show_default=False)
]


@dataclass(frozen=True)
class DeadMessage:
    integration: str
    event_id: str | None
    event_type: str | None
    customer_id: str | None
    message_id: str
    group_id: str
    dead_since: str | None
    first_received: str | None
    receive_count: int
    reason: str
    last_error: str | None
    ledger_status: str | None


@dataclass(frozen=True)
class DeadQueue:
    integration: Integration
    messages: list[DeadMessage]
    total: int  # ApproximateNumberOfMessages: more than shown when --limit or FIFO groups hide some


async def _describe(stage: Stage, integration: Integration, delivery: Delivery) -> DeadMessage:
    event_id = event_type = customer_id = None
    try:
        event = parse_event(delivery.body)
        event_id, event_type, customer_id = event.event_id, event.event_type.value, event.customer_id
    except Exception:  # an unparseable body is shown as such; its reason is on the message
        event_type = "(unparseable body)"
    state = None
    if event_id is not None:
        entry = await stage.ledger_entry(event_id)
        state = entry.integrations.get(integration.value) if entry is not None else None
    # The runtime records the receive count the message died with; SQS's own count includes peeks.
    receive_count = int(delivery.attributes.get("source_receive_count") or delivery.receive_count)
    reason = delivery.attributes.get("dead_reason")
    return DeadMessage(
        integration=integration.value,
        event_id=event_id,
        event_type=event_type,
        customer_id=customer_id or delivery.group_id,
        message_id=delivery.message_id,
        group_id=delivery.group_id,
        dead_since=iso(delivery.sent_at),
        # When a consumer first received it, as the runtime recorded it on dead-lettering; the DLQ
        # copy's own first receive is only whoever peeked at it first (unknown: None).
        first_received=delivery.attributes.get(FIRST_RECEIVED_ATTRIBUTE) or None,
        receive_count=receive_count,
        reason=reason_of(reason or (state.last_error if state is not None else None)),
        last_error=(state.last_error if state is not None else None) or reason,
        ledger_status=state.status.value if state is not None else None,
    )


async def _dead_queue(stage: Stage, integration: Integration, limit: int) -> DeadQueue:
    url = await stage.dlq_url(integration)
    total = int(
        (await stage.queue_attributes(url, "ApproximateNumberOfMessages"))["ApproximateNumberOfMessages"]
    )
    async with peeking(stage.sqs, url, limit=limit) as deliveries:
        described = [await _describe(stage, integration, d) for d in deliveries]
    return DeadQueue(integration, described, total)


async def _dead_queues(stage_name: str, integrations: list[Integration], limit: int) -> list[DeadQueue]:
    async with open_stage(stage_name) as stage:
        return [await _dead_queue(stage, integration, limit) for integration in integrations]


def _print_messages(queue: DeadQueue, stage: str) -> None:
    name = queue.integration.value
    if not queue.messages:
        console.print(f"no dead messages in {name} (stage {stage!r})")
        return
    console.print(f"[bold]{name}[/bold]: {len(queue.messages)} dead (stage {stage!r})")
    for m in queue.messages:
        console.print()
        line(m.event_id or f"message {m.message_id}")
        line(
            m.event_type or "",
            f"customer {m.customer_id}",
            f"{m.receive_count} receives",
            status(m.ledger_status) if m.ledger_status else "not in the ledger",
            indent=2,
        )
        line(f"dead since {when(m.dead_since)}", f"first received {when(m.first_received)}", indent=2)
        if m.last_error:
            line(m.last_error, indent=2)
    if queue.total > len(queue.messages):
        console.print()
        console.print(
            f"showing {len(queue.messages)} of about {queue.total}: raise --limit, and note that SQS hands"
            " out a FIFO group's later messages only after its head has gone (redrive the head)"
        )


def _summary(queues: list[DeadQueue]) -> list[dict[str, Any]]:
    counts = Counter((q.integration.value, m.reason) for q in queues for m in q.messages)
    return [
        {"integration": integration, "reason": reason, "count": count}
        for (integration, reason), count in sorted(counts.items(), key=lambda item: (item[0][0], -item[1]))
    ]


def _print_summary(queues: list[DeadQueue], stage: str) -> None:
    console.print(f"dead messages by integration and reason (stage {stage!r})")
    table = Table()
    table.add_column("integration", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in _summary(queues):
        table.add_row(row["integration"], str(row["count"]), row["reason"])
    for q in queues:
        if not q.messages:
            table.add_row(q.integration.value, "0", "")
    console.print(table)
    hidden = [f"{q.integration.value} (about {q.total})" for q in queues if q.total > len(q.messages)]
    if hidden:
        console.print(f"counted what could be read; more in {', '.join(hidden)}: raise --limit")


@dlq_app.command(
    "show",
    epilog=(
        "Examples: billing dlq show erpnext --stage production   |   billing dlq show --summary   |   "
        "billing dlq show erpnext --limit 5 --json"
    ),
)
def show(
    integration: Annotated[
        Integration | None,
        typer.Argument(help="xendit, erpnext, chartmogul or mautic (default: all four).", show_default=False),
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Counts by integration and reason instead of each message.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=1000, help="Read at most this many messages per DLQ.")
    ] = 50,
    stage: StageOption = "local",
    as_json: JsonOption = False,
) -> None:
    """The dead messages, decoded, with the reason and the last error from the ledger.

    Readable at 80 columns: one block per message, its event id on a line of its own. "first
    received" is when a consumer first received the event (kept across redrives); "dead since" is
    when it reached the DLQ. Nothing is deleted or hidden: the messages are received for a moment
    and made visible again.
    """
    integrations = [integration] if integration is not None else list(Integration)
    queues = asyncio.run(_dead_queues(stage, integrations, limit))
    if summary:
        if as_json:
            print_json(_summary(queues))
        else:
            _print_summary(queues, stage)
        return
    if as_json:
        print_json([asdict(m) for q in queues for m in q.messages])
        return
    for index, queue in enumerate(queues):
        if index:
            console.print()
        _print_messages(queue, stage)


def _progress(*, quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    )


async def _redrive(
    stage_name: str, integration: Integration, event_ids: list[str], dry_run: bool, quiet: bool
) -> RedriveReport:
    async with open_stage(stage_name) as stage:
        url = await stage.dlq_url(integration)
        visible = int(
            (await stage.queue_attributes(url, "ApproximateNumberOfMessages"))["ApproximateNumberOfMessages"]
        )
        total = len(event_ids) if event_ids else visible
        verb = "checking" if dry_run else "moving"
        with _progress(quiet=quiet) as progress:
            task = progress.add_task(f"{verb} {integration.value} dead messages", total=total)

            def advance(_: Delivery, outcome: Outcome) -> None:
                if outcome != "skipped" or not event_ids:
                    progress.advance(task)

            return await Redrive(
                stage, integration, event_ids=event_ids or None, dry_run=dry_run, on_message=advance
            ).run()


async def _redrive_native(stage_name: str, integration: Integration, quiet: bool) -> dict[str, Any]:
    async with open_stage(stage_name) as stage:
        with _progress(quiet=quiet) as progress:
            task = progress.add_task(f"SQS moving {integration.value} dead messages", total=None)

            def update(moved: int, to_move: int) -> None:
                progress.update(task, completed=moved, total=to_move or None)

            return await native_redrive(stage, integration, update)


def _print_report(report: RedriveReport, integration: Integration) -> None:
    moved = "would move" if report.dry_run else "moved"
    console.print(
        f"{integration.value}: {moved} {len(report.moved)}, skipped {len(report.skipped)},"
        f" failed {len(report.failed)}" + (" (dry run: nothing changed)" if report.dry_run else "")
    )
    if report.dry_run and report.moved:
        console.print("would move: " + ", ".join(report.moved))
    for failure in report.failed:
        console.print(f"[red]failed[/red] {failure['event_id']}: {failure['reason']}")
    for skip in report.skipped:
        if skip["reason"] != "not selected":
            console.print(f"skipped {skip['event_id']}: {skip['reason']}")
    for warning in report.warnings:
        console.print(f"[yellow]warning[/yellow] {warning}")


@dlq_app.command(
    "redrive",
    epilog=(
        "Examples: billing dlq redrive erpnext --event-id evt_0a1b --dry-run   |   "
        "billing dlq redrive erpnext --all   |   "
        "billing dlq redrive erpnext --all --native --stage production"
    ),
)
def redrive(
    integration: IntegrationArgument,
    event_id: Annotated[
        list[str] | None, typer.Option("--event-id", help="Move only this event (repeat for several).")
    ] = None,
    all_messages: Annotated[bool, typer.Option("--all", help="Move every dead message.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would move; change nothing.")] = False,
    native: Annotated[
        bool,
        typer.Option(
            "--native",
            help="With --all, against AWS: let SQS move the queue (StartMessageMoveTask); no ledger update.",
        ),
    ] = False,
    stage: StageOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Move dead messages back to their source queue, keeping their message group and order.

    Each message is copied to the source queue (same MessageGroupId, deduplication id
    `redrive-<DLQ message id>`), its ledger status set to queued, and only then deleted from the DLQ.
    An interrupted redrive loses nothing: run it again to finish; a message moved twice is
    acknowledged with no effect by the idempotency store. Exits 1 if anything was not moved.
    """
    event_ids = list(event_id or [])
    if event_ids and all_messages:
        raise typer.BadParameter("give either --event-id ID (one or more) or --all, not both")
    if not event_ids and not all_messages and not dry_run:  # a preview may look at everything
        raise typer.BadParameter("give either --event-id ID (one or more) or --all")
    if native and (not all_messages or dry_run):
        raise typer.BadParameter("--native moves a whole queue: use it with --all and without --dry-run")
    if native:
        task = asyncio.run(_redrive_native(stage, integration, quiet=as_json))
        if as_json:
            print_json(task)
        else:
            console.print(f"{integration.value}: SQS moved {task.get('ApproximateNumberOfMessagesMoved', 0)}")
        return
    report = asyncio.run(_redrive(stage, integration, event_ids, dry_run, quiet=as_json))
    if as_json:
        print_json(asdict(report))
    else:
        _print_report(report, integration)
    if report.not_found:
        raise OperatorError(f"not in the {integration.value} DLQ: {', '.join(report.not_found)}")
    if report.failed:
        raise OperatorError(f"{len(report.failed)} not moved (see above): run the same command again")
