"""What may be repaired, from the ledger: the one place that decides it. Pure.

A difference is repaired only through the normal path, and only when nothing has happened yet:
the event that should have produced the record (``payment.succeeded``, ``refund.succeeded``,
``invoice.expired``) is not in the ledger at all, and neither is the callback that would have led
to it (or that callback was never queued). The repair then publishes that callback event, with its
own deterministic id, to xendit_sync, which confirms it with Xendit's API and publishes the event
exactly as it does for a real callback: a second run, or the real callback arriving late, is the
same event id and books nothing twice.

Everything else is left alone and said why:

* the event is queued, being processed or retried: it is on its way (``in_flight``); so is one
  done since the run began reading the books (the books were read before it wrote);
* it is dead: its reason is in the DLQ (``billing dlq show``), a person decides;
* it is done but the record is missing or different: someone changed the books by hand, or the
  consumer has a bug; only a person can tell (``billing events replay --force`` after checking);
* an amount that differs, a cancelled document, an extra record, a contact that does not show its
  facts: reported, never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from billing_cli.reconcile._model import Action, Difference, Finding, Kind, Outcome
from lovia_billing import Integration
from lovia_billing.ledger import IntegrationStatus, LedgerEntry

_MOVING = frozenset({IntegrationStatus.QUEUED, IntegrationStatus.PROCESSING, IntegrationStatus.RETRYING})
_MISSING = frozenset({Kind.MISSING_IN_ERPNEXT, Kind.MISSING_IN_CHARTMOGUL, Kind.MISSING_IN_MAUTIC})
_STATUS_HINT = {
    IntegrationStatus.DEAD: (
        "dead in {integration}'s DLQ: see `billing dlq show {integration}`, fix the cause, redrive"
    ),
    IntegrationStatus.DONE: (
        "done in the ledger, yet the record is not there: changed or removed by hand? Check, then "
        "`billing events replay {event_id} --integration {integration} --force`"
    ),
    IntegrationStatus.NOT_QUEUED: (
        "never reached {integration}'s queue: `billing events replay {event_id} --integration {integration}`"
    ),
}


#: Seen in one of two readings of the books only: being written, looked at again by the next run.
_BETWEEN_READINGS = "appeared between two readings of the books"
#: A race with the run itself, not a difference: the next run sees the record.
_DONE_SINCE = "was done after the books were read: its record is newer than this run's reading"


def _state(entry: LedgerEntry | None, integration: Integration) -> IntegrationStatus | None:
    if entry is None:
        return None
    state = entry.integrations.get(integration.value)
    return state.status if state is not None else None


def _done_since(entry: LedgerEntry | None, integration: Integration, books_read_at: datetime | None) -> bool:
    """Done at or after the books were read: what it wrote may be newer than what was read."""
    if entry is None or books_read_at is None:
        return False
    state = entry.integrations.get(integration.value)
    return (
        state is not None
        and state.status is IntegrationStatus.DONE
        and state.updated_at is not None
        and state.updated_at >= books_read_at
    )


def classify_one(
    difference: Difference, ledger: Mapping[str, LedgerEntry], books_read_at: datetime | None = None
) -> Finding:
    """The verdict on one difference, given the ledger entries of its event and of its repair, read
    after the books (``books_read_at``: when reading them began)."""
    integration = difference.integration
    event = ledger.get(difference.event_id) if difference.event_id else None
    status = _state(event, integration)
    if _done_since(event, integration, books_read_at):  # any kind: the books read may be half-written
        return Finding(difference, Action.IN_FLIGHT, f"{difference.event_type} {_DONE_SINCE}")
    if difference.kind is Kind.STATUS_DIFFERS and status in _MOVING:
        return Finding(difference, Action.IN_FLIGHT, f"{difference.event_type} is {status} in {integration}")
    if difference.kind not in _MISSING or difference.event_id is None:
        return Finding(difference, Action.PERSON, _person_reason(difference))
    if status in _MOVING:
        return Finding(difference, Action.IN_FLIGHT, f"{difference.event_type} is {status} in {integration}")
    if status is not None:
        hint = _STATUS_HINT[status].format(integration=integration, event_id=difference.event_id)
        return Finding(difference, Action.PERSON, f"{difference.event_type} {hint}")
    if event is not None:
        return Finding(
            difference, Action.PERSON, f"{difference.event_type} was never routed to {integration}"
        )
    return _by_callback(difference, ledger, books_read_at)


def _by_callback(
    difference: Difference, ledger: Mapping[str, LedgerEntry], books_read_at: datetime | None
) -> Finding:
    """The event never happened: may its callback be published (again)?"""
    repair = difference.repair
    if repair is None:
        what = "its invoice" if difference.event_type == "invoice.issued" else "it"
        return Finding(
            difference,
            Action.PERSON,
            f"{difference.event_type} never happened and the reconciliation cannot publish what leads to "
            f"{what}: check `billing events show` for the request that should have",
        )
    callback = ledger.get(repair.event_id)
    status = _state(callback, Integration.XENDIT)
    name = repair.event_type.value
    if callback is None or status is IntegrationStatus.NOT_QUEUED:
        return Finding(
            difference,
            Action.REPAIR,
            f"{difference.event_type} never happened; publishing {name} {repair.event_id} for xendit_sync "
            "to confirm",
            Outcome.PLANNED,
        )
    if status in _MOVING:
        return Finding(difference, Action.IN_FLIGHT, f"{name} {repair.event_id} is {status} in xendit_sync")
    if _done_since(callback, Integration.XENDIT, books_read_at):
        return Finding(difference, Action.IN_FLIGHT, f"{name} {repair.event_id} {_DONE_SINCE}")
    if status is IntegrationStatus.DEAD:
        return Finding(
            difference,
            Action.PERSON,
            f"{name} {repair.event_id} is dead: xendit_sync refused it (see `billing dlq show xendit`)",
        )
    return Finding(
        difference,
        Action.PERSON,
        f"{name} {repair.event_id} was done by xendit_sync, yet {difference.event_type} never happened: "
        "see `billing events show` for both",
    )


def _person_reason(difference: Difference) -> str:
    match difference.kind:
        case Kind.AMOUNT_DIFFERS:
            return "the amounts differ: never overwritten; correct it in the books after checking with Xendit"
        case Kind.CANCELLED_IN_ERPNEXT:
            return "cancelled in ERPNext by hand: left as it is; amend it or book it again by hand"
        case Kind.EXTRA_IN_ERPNEXT | Kind.EXTRA_IN_CHARTMOGUL:
            return "in the books but not at Xendit: booked by hand, or a test? Check before removing"
        case Kind.STATUS_DIFFERS:
            return f"{difference.note or 'the status differs'}: check it by hand"
        case _:
            return difference.note or "needs a person"


def classify(
    differences: Iterable[Difference],
    ledger: Mapping[str, LedgerEntry],
    books_read_at: datetime | None = None,
) -> list[Finding]:
    return [classify_one(difference, ledger, books_read_at) for difference in differences]


def ledger_keys(differences: Iterable[Difference]) -> set[str]:
    """The event ids whose ledger entries ``classify`` reads."""
    keys: set[str] = set()
    for difference in differences:
        if difference.event_id:
            keys.add(difference.event_id)
        if difference.repair is not None:
            keys.add(difference.repair.event_id)
    return keys


def identity(finding: Finding) -> tuple[Kind, Integration, str]:
    """What a difference is about, the same in two readings of the books."""
    difference = finding.difference
    return difference.kind, difference.integration, difference.key


def second_look(finding: Finding, first: set[tuple[Kind, Integration, str]]) -> Finding:
    """A finding of the second reading: for a person only if the first reading had it for a person
    too; one that appeared between the two readings is something being written (``in_flight``)."""
    if finding.action is not Action.PERSON or identity(finding) in first:
        return finding
    return Finding(finding.difference, Action.IN_FLIGHT, f"{_BETWEEN_READINGS} ({finding.reason})")
