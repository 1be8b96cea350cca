"""Our domain events as ChartMogul import records. Pure: no I/O, so every rule is testable alone.

Rules (docs/chartmogul.md explains why):

* amounts: ``lovia_billing.to_minor_units`` (ChartMogul's ``amount_in_cents`` is the ISO minor unit);
* a line's plan is the invoice's ``plan_id``, else the line's ``item_code``; lines of one plan are one
  line item;
* the first plan's line item is the subscription ``subscription_id`` (the invoice id when none);
  every further plan is an add-on subscription ``<that id>:<plan>``, stable from invoice to invoice;
* our service period ``end`` is the last day *included*; ChartMogul's ``service_period_end`` is the
  instant it ends, so we send the next midnight (UTC);
* no service period → one-time line items (no MRR), because ChartMogul cannot spread them over time;
* payments and refunds are transactions on the invoice, keyed on Xendit's payment and refund ids,
  always with their amount (partial ones are simply smaller).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from lovia_billing import (
    CustomerUpserted,
    InvoiceExpired,
    InvoiceIssued,
    InvoiceLine,
    PaymentSucceeded,
    RefundSucceeded,
    ServicePeriod,
    to_minor_units,
)
from lovia_billing.clients.chartmogul import (
    CustomerUpdate,
    IntervalUnit,
    NewCustomer,
    NewInvoice,
    NewLineItem,
    NewPlan,
    NewTransaction,
)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


# --- customers -------------------------------------------------------------------------------


def new_customer(event: CustomerUpserted, data_source_uuid: str) -> NewCustomer:
    return NewCustomer(
        data_source_uuid=data_source_uuid,
        external_id=event.customer_id,
        name=event.name,
        email=event.email,
        company=event.company,
        country=event.country.upper() if event.country else None,
    )


def customer_update(event: CustomerUpserted) -> CustomerUpdate:
    return CustomerUpdate(
        name=event.name,
        email=event.email,
        company=event.company,
        country=event.country.upper() if event.country else None,
    )


def customer_from_invoice(event: InvoiceIssued, data_source_uuid: str) -> NewCustomer:
    """A stand-in when the invoice arrives before its customer: the payer, by our customer id.

    The later ``customer.upserted`` finds it by that id and overwrites name, e-mail and company.
    """
    return NewCustomer(
        data_source_uuid=data_source_uuid,
        external_id=event.customer_id,
        name=event.payer_email,
        email=event.payer_email,
    )


# --- plans and invoices ------------------------------------------------------------------------


@dataclass(frozen=True)
class SubscriptionGroup:
    """The lines of one plan on one invoice: one ChartMogul line item."""

    plan: NewPlan | None  # None for one-time items
    subscription_external_id: str | None
    line_external_id: str
    amount_in_cents: int
    quantity: int
    description: str


def plan_interval(period: ServicePeriod) -> tuple[int, IntervalUnit]:
    """Whole months or years when the period is one, else days (end inclusive)."""
    end = period.end + timedelta(days=1)
    months = (end.year - period.start.year) * 12 + end.month - period.start.month
    if months > 0 and end.day == period.start.day:
        return (months // 12, "year") if months % 12 == 0 else (months, "month")
    return (end - period.start).days, "day"


def _plan_of(event: InvoiceIssued, line: InvoiceLine) -> str:
    return event.plan_id or line.item_code


def subscription_groups(event: InvoiceIssued, data_source_uuid: str) -> list[SubscriptionGroup]:
    by_plan: dict[str, list[InvoiceLine]] = {}
    for line in event.lines:
        by_plan.setdefault(_plan_of(event, line), []).append(line)
    base = event.subscription_id or event.invoice_id
    groups = []
    for index, (plan_id, lines) in enumerate(by_plan.items()):
        plan = None
        if event.period is not None:
            count, unit = plan_interval(event.period)
            name = lines[0].description[:200]
            plan = NewPlan(
                data_source_uuid=data_source_uuid,
                external_id=plan_id,
                name=name,
                interval_count=count,
                interval_unit=unit,
            )
        total = sum((line.amount for line in lines), Decimal(0))
        groups.append(
            SubscriptionGroup(
                plan=plan,
                subscription_external_id=(base if index == 0 else f"{base}:{plan_id}") if plan else None,
                line_external_id=f"{event.invoice_id}:{plan_id}",
                amount_in_cents=to_minor_units(total, event.currency),
                quantity=sum(line.quantity for line in lines),
                description="; ".join(line.description for line in lines)[:500],
            )
        )
    return groups


def new_invoice(
    event: InvoiceIssued, groups: Sequence[SubscriptionGroup], plan_uuids: dict[str, str]
) -> NewInvoice:
    """``plan_uuids``: ChartMogul's uuid of each group's plan, by our plan external id."""
    items = []
    for group in groups:
        if group.plan is None or event.period is None:
            items.append(
                NewLineItem(
                    type="one_time",
                    external_id=group.line_external_id,
                    amount_in_cents=group.amount_in_cents,
                    quantity=group.quantity,
                    description=group.description,
                )
            )
            continue
        items.append(
            NewLineItem(
                type="subscription",
                external_id=group.line_external_id,
                subscription_external_id=group.subscription_external_id,
                plan_uuid=plan_uuids[group.plan.external_id],
                service_period_start=midnight(event.period.start),
                service_period_end=midnight(event.period.end + timedelta(days=1)),
                amount_in_cents=group.amount_in_cents,
                quantity=group.quantity,
            )
        )
    return NewInvoice(
        external_id=event.invoice_id,
        date=event.issued_at,
        currency=event.currency,
        due_date=midnight(event.due_date) if event.due_date else None,
        line_items=items,
    )


# --- transactions ------------------------------------------------------------------------------


def payment_transaction(event: PaymentSucceeded) -> NewTransaction:
    """Always with the amount paid: a partial payment is then just a smaller one (ChartMogul takes
    a transaction without ``amount_in_cents`` for the invoice's full value)."""
    fees = to_minor_units(event.fees, event.currency) if event.fees > 0 else None
    return NewTransaction(
        type="payment",
        result="successful",
        date=event.paid_at,
        external_id=event.payment_id,
        amount_in_cents=to_minor_units(event.amount, event.currency),
        transaction_fees_in_cents=fees,
        transaction_fees_currency=event.currency if fees is not None else None,
    )


def refund_transaction(event: RefundSucceeded) -> NewTransaction:
    """A successful refund of what Xendit paid back, as a positive amount (ChartMogul's rule: the
    type says it is money going out). Keyed on Xendit's refund id."""
    return NewTransaction(
        type="refund",
        result="successful",
        date=event.refunded_at,
        external_id=event.refund_id,
        amount_in_cents=to_minor_units(event.amount, event.currency),
    )


def expiry_external_id(event: InvoiceExpired) -> str:
    """Xendit has no payment for an expiry; the invoice's own id marks the failed attempt."""
    return f"{event.xendit_invoice_id}:expired"


def expiry_transaction(event: InvoiceExpired) -> NewTransaction:
    return NewTransaction(
        type="payment",
        result="failed",
        date=event.expired_at,
        external_id=expiry_external_id(event),
        amount_in_cents=to_minor_units(event.amount, event.currency),
    )


# --- cancellations -----------------------------------------------------------------------------


def belongs_to(external_id: str, subscription_id: str) -> bool:
    """Our subscription and its add-ons (``<id>:<plan>``)."""
    return external_id == subscription_id or external_id.startswith(f"{subscription_id}:")


def with_cancellation(current: Sequence[datetime], cancelled_at: datetime) -> list[datetime] | None:
    """The full ``cancellation_dates`` list with ``cancelled_at`` added once, or None when it is there.

    Compared to the second in UTC: ChartMogul echoes times with milliseconds, we send whole seconds.
    """

    def second(value: datetime) -> datetime:
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0)

    wanted = second(cancelled_at)
    known = sorted({second(d) for d in current})
    if wanted in known:
        return None
    return sorted([*known, wanted])
