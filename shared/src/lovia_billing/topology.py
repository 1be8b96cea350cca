"""The queue topology, defined once.

Integrations, queue and DLQ names for a stage, which event types go to which queues, who publishes
what, the message-group rule and the redrive settings. Read by the ingest, the consumers, the
``billing`` command line, the local stack and the CDK app; nothing else spells a queue name.

Pure domain: no I/O imports here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from lovia_billing._events import EventType


class Integration(StrEnum):
    XENDIT = "xendit"
    ERPNEXT = "erpnext"
    CHARTMOGUL = "chartmogul"
    MAUTIC = "mautic"


STAGES: Final = ("local", "staging", "production")

X, E, C, M = Integration.XENDIT, Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC

#: Which integrations' queues receive each event type, in DESIGN.md's flow table order.
ROUTES: Final[dict[EventType, tuple[Integration, ...]]] = {
    EventType.CUSTOMER_UPSERTED: (E, C, M),
    EventType.INVOICE_REQUESTED: (X,),
    EventType.INVOICE_ISSUED: (E, C, M),
    EventType.PAYMENT_SUCCEEDED: (E, C, M),
    EventType.INVOICE_EXPIRED: (E, C, M),
    # Only to xendit_sync, which passes it on (FORWARDS) once it has expired the open invoices.
    EventType.SUBSCRIPTION_CANCELLED: (X,),
    EventType.REFUND_SUCCEEDED: (E, C, M),
    EventType.XENDIT_INVOICE_PAID: (X,),
    EventType.XENDIT_INVOICE_EXPIRED: (X,),
    EventType.XENDIT_CALLBACK: (X,),
}

#: Events xendit_sync passes on, unchanged, once it has acted on them. In the customer's group a
#: cancellation then reaches the books behind every invoice xendit_sync issued before it, whatever
#: order the downstream queues would otherwise have seen (docs/consumer-runtime.md, "Order").
FORWARDS: Final[dict[EventType, tuple[Integration, ...]]] = {
    EventType.SUBSCRIPTION_CANCELLED: (C, M, E),
}

#: Follow-up events each consumer may publish (its IAM role may send only to their queues).
PUBLISHES: Final[dict[Integration, tuple[EventType, ...]]] = {
    X: (
        EventType.INVOICE_ISSUED,
        EventType.PAYMENT_SUCCEEDED,
        EventType.INVOICE_EXPIRED,
        EventType.REFUND_SUCCEEDED,
        EventType.SUBSCRIPTION_CANCELLED,  # forwarded
    ),
    E: (),
    C: (),
    M: (),
}

#: The retry budget of one event's own failures: it reaches the DLQ only after failing this long.
RETRY_BUDGET_HOURS: Final = 24
#: Receives before a message is dead-lettered (by the runtime, else by SQS's redrive policy). Sized
#: from the budget: with the production backoff (2 s doubling, equal jitter, capped at SQS's 12 h
#: visibility limit) the 18 delays before the 19th receive add up to at least 27 h (at most 54 h),
#: and 18 receives would give less than 24 h (``consumer._backoff.shortest_retry_seconds``, pinned by
#: a test). An outage does not spend it: the circuit breaker stops receiving instead.
MAX_RECEIVE_COUNT: Final = 19
#: Default visibility timeout of the source queues; the consumer's heartbeat extends it.
VISIBILITY_TIMEOUT_SECONDS: Final = 60
#: Source queues and DLQs keep messages the maximum, 14 days: an event may retry for up to 54 h on
#: its own, plus however long an outage holds it back, and SQS deletes what outlives retention.
QUEUE_RETENTION_SECONDS: Final = 14 * 24 * 3600
DLQ_RETENTION_SECONDS: Final = 14 * 24 * 3600


def routes_for(event_type: EventType | str) -> tuple[Integration, ...]:
    """The integrations an event type is routed to; ``KeyError`` for an unknown type."""
    return ROUTES[EventType(event_type)]


def follow_up_targets(event_type: EventType | str) -> tuple[Integration, ...]:
    """Where a consumer's publish of ``event_type`` goes: its forward list, else its routes."""
    event_type = EventType(event_type)
    return FORWARDS.get(event_type, ROUTES[event_type])


def handled_by(integration: Integration) -> tuple[EventType, ...]:
    """The event types that reach ``integration``'s queue (routed there, or forwarded)."""
    return tuple(
        event_type
        for event_type in EventType
        if integration in ROUTES.get(event_type, ()) or integration in FORWARDS.get(event_type, ())
    )


def publish_targets(integration: Integration) -> tuple[Integration, ...]:
    """The queues ``integration`` sends follow-up events to."""
    targets = {target for event_type in PUBLISHES[integration] for target in follow_up_targets(event_type)}
    return tuple(i for i in Integration if i in targets)


def message_group_id(customer_id: str) -> str:
    """The group rule: all events of one customer reach each integration in order."""
    return customer_id


@dataclass(frozen=True)
class QueueSpec:
    integration: Integration
    name: str
    dlq_name: str
    visibility_timeout: int = VISIBILITY_TIMEOUT_SECONDS
    max_receive_count: int = MAX_RECEIVE_COUNT
    retention_seconds: int = QUEUE_RETENTION_SECONDS
    dlq_retention_seconds: int = DLQ_RETENTION_SECONDS


@dataclass(frozen=True)
class Topology:
    """Names of everything for one stage (``local``, ``staging``, ``production``)."""

    stage: str = "local"

    def __post_init__(self) -> None:
        if not self.stage or not self.stage.replace("-", "").isalnum():
            raise ValueError(f"invalid stage {self.stage!r}")

    def queue_name(self, integration: Integration | str) -> str:
        return f"{self.stage}-billing-{Integration(integration)}.fifo"

    def dlq_name(self, integration: Integration | str) -> str:
        return f"{self.stage}-billing-{Integration(integration)}-dlq.fifo"

    def queue(self, integration: Integration | str) -> QueueSpec:
        integration = Integration(integration)
        return QueueSpec(integration, self.queue_name(integration), self.dlq_name(integration))

    def queues(self) -> tuple[QueueSpec, ...]:
        return tuple(self.queue(integration) for integration in Integration)

    @property
    def ledger_table(self) -> str:
        return f"{self.stage}-billing-ledger"

    @property
    def idempotency_table(self) -> str:
        return f"{self.stage}-billing-idempotency"
