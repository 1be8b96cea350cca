"""One handler per event type; each is safe to run any number of times.

Every write carries our own id as ChartMogul ``external_id``, and every handler reads before it
writes where ChartMogul offers a lookup. A create that meets ChartMogul's 422 "already exists" on
our id (a retry after a lost answer) is success; any other 422 is permanent (``ChartMogulRejected``).
"""

from __future__ import annotations

from collections.abc import Mapping

from chartmogul_sync import mapping
from lovia_billing import (
    CustomerUpserted,
    EventType,
    InvoiceExpired,
    InvoiceIssued,
    PaymentSucceeded,
    RefundSucceeded,
    RetryableError,
    SubscriptionCancelled,
)
from lovia_billing.clients.chartmogul import (
    AlreadyExists,
    ChartMogulClient,
    Customer,
    Invoice,
    NewCustomer,
    NewPlan,
    NewTransaction,
)
from lovia_billing.consumer import Handler, HandlerContext


def _current_fields(customer: Customer) -> dict[str, object]:
    """The updatable fields as ChartMogul holds them, for comparing with what the event says."""
    return {
        "name": customer.name,
        "email": customer.email,
        "company": customer.company,
        "country": customer.country,
    }


class ChartmogulHandlers:
    """The handlers of one data source, sharing one client."""

    def __init__(self, client: ChartMogulClient, data_source_uuid: str) -> None:
        self.client = client
        self.data_source_uuid = data_source_uuid

    def table(self) -> Mapping[EventType, Handler]:
        return {
            EventType.CUSTOMER_UPSERTED: self.on_customer_upserted,
            EventType.INVOICE_ISSUED: self.on_invoice_issued,
            EventType.PAYMENT_SUCCEEDED: self.on_payment_succeeded,
            EventType.INVOICE_EXPIRED: self.on_invoice_expired,
            EventType.SUBSCRIPTION_CANCELLED: self.on_subscription_cancelled,
            EventType.REFUND_SUCCEEDED: self.on_refund_succeeded,
        }

    # --- customer.upserted -------------------------------------------------------------------

    async def on_customer_upserted(self, event: CustomerUpserted, ctx: HandlerContext) -> None:
        existing = await self._find_customer(event.customer_id)
        if existing is None:
            created = await self._create_customer(mapping.new_customer(event, self.data_source_uuid))
            if created is not None:
                ctx.logger.info("chartmogul customer created", extra={"customer_uuid": created.uuid})
                return
            existing = await self._require_customer(event.customer_id)
        update = mapping.customer_update(event)
        current = _current_fields(existing)
        if update.model_dump(exclude_none=True).items() <= current.items():
            return  # already as the event says: a redelivery writes nothing
        await self.client.update_customer(existing.uuid, update)
        ctx.logger.info("chartmogul customer updated", extra={"customer_uuid": existing.uuid})

    # --- invoice.issued ----------------------------------------------------------------------

    async def on_invoice_issued(self, event: InvoiceIssued, ctx: HandlerContext) -> None:
        customer = await self._find_customer(event.customer_id)
        if customer is None:
            stand_in = mapping.customer_from_invoice(event, self.data_source_uuid)
            customer = await self._create_customer(stand_in)
            customer = customer or await self._require_customer(event.customer_id)
        groups = mapping.subscription_groups(event, self.data_source_uuid)
        plan_uuids: dict[str, str] = {}
        for group in groups:
            if group.plan is not None and group.plan.external_id not in plan_uuids:
                plan_uuids[group.plan.external_id] = await self._ensure_plan(group.plan)
        invoice = mapping.new_invoice(event, groups, plan_uuids)
        try:
            stored = await self.client.import_invoice(customer.uuid, invoice)
        except AlreadyExists:
            ctx.logger.info("chartmogul invoice already imported", extra={"invoice_id": event.invoice_id})
            return
        ctx.logger.info("chartmogul invoice imported", extra={"invoice_uuid": stored.uuid})

    async def _ensure_plan(self, plan: NewPlan) -> str:
        found = await self.client.find_plan(self.data_source_uuid, plan.external_id)
        if found is not None:
            return found.uuid
        try:
            return (await self.client.create_plan(plan)).uuid
        except AlreadyExists:
            found = await self.client.find_plan(self.data_source_uuid, plan.external_id)
            if found is None:
                message = f"plan {plan.external_id} exists in ChartMogul but is not listed yet"
                raise RetryableError(message) from None
            return found.uuid

    # --- payment.succeeded / invoice.expired ---------------------------------------------------

    async def on_payment_succeeded(self, event: PaymentSucceeded, ctx: HandlerContext) -> None:
        transaction = mapping.payment_transaction(event)
        await self._add_transaction(event.customer_id, event.invoice_id, transaction, ctx)

    async def on_invoice_expired(self, event: InvoiceExpired, ctx: HandlerContext) -> None:
        transaction = mapping.expiry_transaction(event)
        await self._add_transaction(event.customer_id, event.invoice_id, transaction, ctx)

    async def on_refund_succeeded(self, event: RefundSucceeded, ctx: HandlerContext) -> None:
        """A refund transaction on the invoice, once the refunded payment is there: ChartMogul's
        cash flow then shows the money coming in before it goes back out."""
        transaction = mapping.refund_transaction(event)
        await self._add_transaction(
            event.customer_id, event.invoice_id, transaction, ctx, after=event.payment_id
        )

    async def _add_transaction(
        self,
        customer_id: str,
        invoice_id: str,
        transaction: NewTransaction,
        ctx: HandlerContext,
        *,
        after: str | None = None,
    ) -> None:
        """Add ``transaction`` unless the invoice holds its external id; ``after``: the external id
        of a transaction that must be on the invoice first (retryable until it is)."""
        invoice = await self._find_invoice(customer_id, invoice_id)
        if any(t.external_id == transaction.external_id for t in invoice.transactions):
            return
        if after is not None and not any(t.external_id == after for t in invoice.transactions):
            raise RetryableError(
                f"{transaction.type} {transaction.external_id}: transaction {after} of invoice "
                f"{invoice_id} is not in ChartMogul yet"
            )
            return
        try:
            stored = await self.client.add_transaction(invoice.uuid, transaction)
        except AlreadyExists:
            return
        ctx.logger.info("chartmogul transaction added", extra={"transaction_uuid": stored.uuid})

    async def _find_invoice(self, customer_id: str, invoice_id: str) -> Invoice:
        """Through the customer's imported invoices (a recorded endpoint). Events of one customer
        arrive in order, so a missing invoice is one still being retried: try again later."""
        customer = await self._find_customer(customer_id)
        invoices = await self.client.list_customer_invoices(customer.uuid) if customer else []
        found = next((i for i in invoices if i.external_id == invoice_id), None)
        if found is None:
            raise RetryableError(f"invoice {invoice_id} is not in ChartMogul yet")
        return found

    # --- subscription.cancelled --------------------------------------------------------------

    async def on_subscription_cancelled(self, event: SubscriptionCancelled, ctx: HandlerContext) -> None:
        customer = await self._find_customer(event.customer_id)
        subscriptions = await self.client.list_subscriptions(customer.uuid) if customer else []
        ours = [s for s in subscriptions if mapping.belongs_to(s.external_id, event.subscription_id)]
        if not ours:
            # The cancellation comes through xendit_sync, behind every invoice it issued before it
            # (topology.FORWARDS): none of them made a subscription (no service period), so
            # ChartMogul counts no recurring revenue for it and there is nothing to end.
            ctx.logger.warning(
                "no ChartMogul subscription to cancel: its invoices carried no service period",
                extra={"subscription_id": event.subscription_id, "customer_id": event.customer_id},
            )
            return
        for subscription in ours:
            dates = mapping.with_cancellation(subscription.cancellation_dates, event.cancelled_at)
            if dates is None:
                continue
            await self.client.set_cancellation_dates(subscription.uuid, dates)
            ctx.logger.info("chartmogul subscription cancelled", extra={"subscription": subscription.uuid})

    # --- customers, shared ---------------------------------------------------------------------

    async def _find_customer(self, customer_id: str) -> Customer | None:
        return await self.client.find_customer(self.data_source_uuid, customer_id)

    async def _require_customer(self, customer_id: str) -> Customer:
        found = await self._find_customer(customer_id)
        if found is None:
            raise RetryableError(f"customer {customer_id} exists in ChartMogul but is not listed yet")
        return found

    async def _create_customer(self, customer: NewCustomer) -> Customer | None:
        """The created customer, or None when ChartMogul already holds our external id."""
        try:
            return await self.client.create_customer(customer)
        except AlreadyExists:
            return None
