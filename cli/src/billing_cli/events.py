"""``billing events search|show|replay``: finding events, one event's ledger entry, sending it again."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from billing_cli._aws import Stage, open_stage
from billing_cli._errors import OperatorError
from billing_cli._options import JsonOption, StageOption
from billing_cli._output import console, print_json
from billing_cli._search import EPILOG as SEARCH_EPILOG
from billing_cli._search import search
from lovia_billing import Integration, parse_event
from lovia_billing.ledger import IntegrationStatus, LedgerEntry
from lovia_billing.topology import message_group_id

events_app = typer.Typer(
    name="events",
    help="Events in the ledger: search them, show one with its status in each integration, replay it.",
    no_args_is_help=True,
)
events_app.command("search", epilog=SEARCH_EPILOG)(search)

EventIdArgument = Annotated[
    str, typer.Argument(help="The event id (as returned by the ingest).", show_default=False)
]


async def _entry(stage: Stage, event_id: str) -> LedgerEntry:
    entry = await stage.ledger_entry(event_id)
    if entry is None:
        raise OperatorError(f"event {event_id} is not in the ledger (stage {stage.name!r})")
    return entry


async def _load(stage_name: str, event_id: str) -> LedgerEntry:
    async with open_stage(stage_name) as stage:
        return await _entry(stage, event_id)


@events_app.command("show", epilog="Example: billing events show evt_3f2a9c... --stage production")
def show(event_id: EventIdArgument, stage: StageOption = "local", as_json: JsonOption = False) -> None:
    """The ledger entry of one event: routing, and each integration's status, attempts, time, last error."""
    entry = asyncio.run(_load(stage, event_id))
    if as_json:
        print_json(entry.model_dump(mode="json"))
        return
    console.print(f"event      {entry.event_id}")
    console.print(f"type       {entry.event_type}")
    console.print(f"customer   {entry.customer_id}")
    console.print(f"created    {entry.created_at.isoformat(timespec='seconds')}")
    console.print(f"correlation {entry.correlation_id or '-'}")
    console.print(f"routed to  {', '.join(entry.routed_to) or '-'}")
    table = Table()
    for column in ("integration", "status", "attempts", "updated", "last error"):
        table.add_column(column, overflow="fold")
    for name in entry.routed_to:
        state = entry.integrations.get(name)
        if state is None:
            table.add_row(name, "-", "-", "-", "")
            continue
        style = {"done": "green", "dead": "bold red", "not_queued": "bold red", "retrying": "yellow"}.get(
            state.status.value
        )
        updated = state.updated_at.isoformat(timespec="seconds") if state.updated_at else "-"
        status = f"[{style}]{state.status.value}[/{style}]" if style else state.status.value
        table.add_row(name, status, str(state.attempts), updated, state.last_error or "")
    console.print(table)


@dataclass
class ReplayReport:
    event_id: str
    sent: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)


async def _send(stage: Stage, entry: LedgerEntry, integration: Integration) -> None:
    """The stored body, same group, a fresh deduplication id (content-based dedup would drop it)."""
    replay_id = f"replay-{uuid.uuid4().hex}"
    attributes: Any = {
        "correlation_id": {"DataType": "String", "StringValue": entry.correlation_id or replay_id},
        "event_type": {"DataType": "String", "StringValue": entry.event_type},
        "published_at": {"DataType": "String", "StringValue": datetime.now(UTC).isoformat()},
        "replay_id": {"DataType": "String", "StringValue": replay_id},
    }
    await stage.sqs.send_message(
        QueueUrl=await stage.source_url(integration),
        MessageBody=entry.body,
        MessageGroupId=message_group_id(entry.customer_id),
        MessageDeduplicationId=replay_id,
        MessageAttributes=attributes,
    )


async def _replay(stage_name: str, event_id: str, only: Integration | None, force: bool) -> ReplayReport:
    async with open_stage(stage_name) as stage:
        entry = await _entry(stage, event_id)
        parse_event(entry.body)  # the stored body must still be a valid event before anything is sent
        if only is not None and only.value not in entry.routed_to:
            routed = ", ".join(entry.routed_to) or "nowhere"
            raise OperatorError(f"event {event_id} was not routed to {only.value} (routed to: {routed})")
        targets = [only] if only is not None else [Integration(name) for name in entry.routed_to]
        report = ReplayReport(event_id)
        for integration in targets:
            state = entry.integrations.get(integration.value)
            if state is not None and state.status is IntegrationStatus.DONE and not force:
                report.skipped.append(
                    {"integration": integration.value, "reason": "done (use --force to redo)"}
                )
                continue
            if force:
                await stage.idempotency.clear(integration, event_id)
                report.cleared.append(integration.value)
            await _send(stage, entry, integration)
            # A ``done`` entry stays done (the ledger's rule); otherwise it shows as queued again.
            await stage.ledger.mark(event_id, integration, IntegrationStatus.QUEUED)
            report.sent.append(integration.value)
        return report


@events_app.command(
    "replay",
    epilog=(
        "Examples: billing events replay evt_3f2a... --integration erpnext   |   "
        "billing events replay evt_3f2a... --integration erpnext --force"
    ),
)
def replay(
    event_id: EventIdArgument,
    integration: Annotated[
        Integration | None,
        typer.Option(
            "--integration", help="Only this integration's queue (default: every one it was routed to)."
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help=(
                "Also redo integrations whose ledger status is done: their idempotency record is deleted "
                "first, so the consumer runs the handler again. RISK: the downstream natural keys (ERPNext "
                "unique fields, Xendit external_id, ChartMogul external_id, Mautic e-mail) are then the "
                "only guard against a duplicate invoice or payment, and a handler still running for the "
                "event loses its claim. Use only when the downstream record is known to be missing."
            ),
        ),
    ] = False,
    stage: StageOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Send one event from the ledger (its stored body) to its queues again.

    Each copy gets a fresh deduplication id, so SQS does not drop it. Without --force an integration
    whose status is done is skipped, and the idempotency store still guards the others: a copy of
    an event that was in fact done is acknowledged with no effect.
    """
    report = asyncio.run(_replay(stage, event_id, integration, force))
    if as_json:
        print_json(asdict(report))
        return
    for name in report.cleared:
        console.print(f"cleared the idempotency record of {name}")
    for name in report.sent:
        console.print(f"sent to {name}")
    for skip in report.skipped:
        console.print(f"skipped {skip['integration']}: {skip['reason']}")
    if not report.sent:
        console.print("nothing sent")
