"""``--repair``: publish each missed callback event once, to xendit_sync, and nothing else.

The reconciliation never writes to ERPNext, ChartMogul or Mautic. A repair puts on the xendit queue
the callback event that would have reported the payment, refund or expiry (``xendit.invoice.paid``,
``xendit.invoice.expired``, ``xendit.callback``), recorded in the ledger like the ingest records a
callback: xendit_sync confirms it with Xendit's API and publishes the domain event, whose consumers
write the books by their natural keys. The same event id as the real callback's makes a repair run
twice, or racing the real late callback, one event: SQS drops a copy within five minutes, the
idempotency store after that, and the ledger refuses a different body under the id (the first
one stands, ``already_published``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from billing_cli.reconcile._model import Action, Finding, Outcome
from lovia_billing import BillingError, DomainEvent, Integration
from lovia_billing.ledger import Ledger, LedgerConflict
from lovia_billing.publisher import Publisher

Tick = Callable[[str, int], None]


def _never(_what: str, _count: int) -> None:
    return None


def planned(findings: Iterable[Finding]) -> dict[str, DomainEvent]:
    """The events to publish, once each (one payment missing in three systems is one repair)."""
    events: dict[str, DomainEvent] = {}
    for finding in findings:
        repair = finding.difference.repair
        if finding.action is Action.REPAIR and repair is not None:
            events.setdefault(repair.event_id, repair)
    return events


async def repair(
    findings: list[Finding], publisher: Publisher, ledger: Ledger, *, correlation_id: str, tick: Tick = _never
) -> dict[str, tuple[Outcome, str]]:
    """Publish every planned event to the xendit queue; each one's outcome, by event id."""
    outcomes: dict[str, tuple[Outcome, str]] = {}
    for event_id, event in planned(findings).items():
        outcomes[event_id] = await _publish(event, publisher, ledger, correlation_id)
        tick("Repairs", 1)
    for finding in findings:
        repair_event = finding.difference.repair
        if finding.action is Action.REPAIR and repair_event is not None:
            finding.outcome, finding.detail = outcomes[repair_event.event_id]
    return outcomes


async def _publish(
    event: DomainEvent, publisher: Publisher, ledger: Ledger, correlation_id: str
) -> tuple[Outcome, str]:
    try:
        if await ledger.get(event.event_id) is not None:
            return Outcome.ALREADY_PUBLISHED, "in the ledger meanwhile (the callback arrived, or another run)"
        await publisher.publish(event, correlation_id=correlation_id, integrations=[Integration.XENDIT])
    except LedgerConflict:
        return Outcome.ALREADY_PUBLISHED, "the real callback came first (same event id): it stands"
    except BillingError as exc:
        return Outcome.FAILED, f"{type(exc).__name__}: {exc}"
    return Outcome.PUBLISHED, f"{event.event_type.value} {event.event_id} queued for xendit_sync"
