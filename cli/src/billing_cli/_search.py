"""``billing events search``: every event about a customer, an invoice, a Xendit id or a request.

Reads the ledger's indexes (``lovia_billing.ledger_search``, as the GraphQL API and the console do),
newest first, with each integration's status; ``--after`` goes on from where a page ended.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import typer
from botocore.exceptions import ClientError

from billing_cli._aws import open_stage
from billing_cli._errors import OperatorError
from billing_cli._layout import line, status, when
from billing_cli._options import JsonOption, StageOption
from billing_cli._output import console, print_json
from lovia_billing import Integration
from lovia_billing.ledger import IntegrationStatus
from lovia_billing.ledger_search import MAX_PAGE_SIZE, EventFilter, EventPage, InvalidSearch, LedgerSearch

EPILOG = (
    "Examples: billing events search --invoice inv_2026_0001   |   "
    "billing events search --xendit-id py-5f0c   |   "
    "billing events search --customer cus_0001 --status dead --integration erpnext"
)


async def _search(stage_name: str, search: EventFilter, limit: int, after: str | None) -> EventPage:
    async with open_stage(stage_name) as stage:
        try:
            return await LedgerSearch(stage.dynamodb, stage.topology.ledger_table).page(
                search, first=limit, after=after
            )
        except InvalidSearch as exc:
            raise OperatorError(str(exc)) from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("ResourceNotFoundException", "ValidationException"):
                raise OperatorError(
                    f"the ledger of stage {stage_name!r} cannot be searched ({code}: "
                    f"{exc.response.get('Error', {}).get('Message', '')}); its indexes come with the "
                    "CDK deploy, or `billing dev` locally"
                ) from exc
            raise


def _print(page: EventPage) -> None:
    if not page.entries:
        console.print("no events")
        return
    for entry in page.entries:
        line(when(entry.created_at), entry.event_id, separator="  ")
        line(
            entry.event_type,
            f"invoice {entry.invoice_id}" if entry.invoice_id else "",
            f"customer {entry.customer_id}",
            indent=2,
        )
        states = list(entry.integrations.items())
        line(*(status(f"{name} {state.status.value}") for name, state in states), indent=2)
        for name, state in states:
            if state.last_error and state.status is not IntegrationStatus.DONE:
                line(f"{name}: {state.last_error}", indent=4)
    if page.has_next_page and page.end_cursor:
        console.print()
        console.print(f"more: add --after {page.end_cursor}")


def search(
    customer: Annotated[str | None, typer.Option("--customer", help="Our customer id.")] = None,
    invoice: Annotated[str | None, typer.Option("--invoice", help="Our invoice id.")] = None,
    xendit_id: Annotated[
        str | None,
        typer.Option("--xendit-id", help="Any Xendit id: invoice, payment request, payment, refund..."),
    ] = None,
    correlation_id: Annotated[
        str | None, typer.Option("--correlation-id", help="The request id an event came in with.")
    ] = None,
    event_status: Annotated[
        IntegrationStatus | None,
        typer.Option("--status", help="Only events in this status (in --integration, else in any)."),
    ] = None,
    integration: Annotated[
        Integration | None, typer.Option("--integration", help="Only events routed to it.")
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since", help="Only events recorded from then (UTC).", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]
        ),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=MAX_PAGE_SIZE, help="Events per page.")] = 20,
    after: Annotated[
        str | None, typer.Option("--after", help="Go on after the page that printed this cursor.")
    ] = None,
    stage: StageOption = "local",
    as_json: JsonOption = False,
) -> None:
    """Events about a customer, an invoice, a Xendit id or a request, newest first, each with the
    status (and last error) of every integration it was routed to.

    With none of --customer, --invoice, --xendit-id, --correlation-id, the last 30 days (or from
    --since) are searched.
    """
    search_filter = EventFilter(
        customer_id=customer,
        invoice_id=invoice,
        xendit_id=xendit_id,
        correlation_id=correlation_id,
        status=event_status,
        integration=integration,
        since=since.replace(tzinfo=UTC) if since is not None else None,
    )
    page = asyncio.run(_search(stage, search_filter, limit, after))
    if as_json:
        print_json([entry.model_dump(mode="json") for entry in page.entries])
        return
    _print(page)
