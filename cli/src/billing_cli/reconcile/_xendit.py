"""Reading what Xendit shows for the window: paid, settled and expired invoices, refunds, and
payments of payment requests (which recurring cycles charge too), within Xendit's rate limits.

Lists are read page by page (100 a page) with the invoice list's own time filters, so a day of a
thousand paid invoices costs about ten list requests, not a thousand reads; the client's
``RateLimitPacer`` waits as Xendit's ``Rate-Limit-*`` headers ask. Refunds and payment requests
have no time filter: their lists (newest first) are read back until ``lookback_days`` before the
window. Each object becomes the very event xendit_sync would publish for it
(``lovia_billing.xendit_events``) and the callback event that would have reported it.

Xendit is read over the window's whole local days; only what lies in the window itself is checked,
the rest is only *known* (so a document dated on the window's first or last day is not an extra).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from billing_cli.reconcile._model import (
    ExpectedExpiry,
    ExpectedPayment,
    ExpectedRefund,
    Window,
    XenditFacts,
    XenditInvoiceView,
)
from lovia_billing import BillingError, PaymentSucceeded, XenditProduct
from lovia_billing.clients.xendit import (
    Capture,
    EwalletCharge,
    FvaPayment,
    Invoice,
    PaymentRequest,
    Refund,
    XenditClient,
)
from lovia_billing.xendit_events import (
    CUSTOMER_KEY,
    INVOICE_KEY,
    bookable_currency,
    expired_callback,
    expired_event,
    owner,
    paid_callback,
    payment_event,
    payment_request_callback,
    refund_callback,
    refund_event,
)

Tick = Callable[[str, int], None]  # (what, how many more records) for the progress bar
SUCCEEDED = "SUCCEEDED"


def _never(_what: str, _count: int) -> None:
    return None


class XenditReader:
    """Builds ``XenditFacts`` for one window; remembers what it fetched so nothing is read twice."""

    def __init__(
        self,
        xendit: XenditClient,
        window: Window,
        *,
        page_size: int = 100,
        lookback_days: int = 7,
        tick: Tick = _never,
    ) -> None:
        self.xendit = xendit
        self.window = window
        self.page_size = page_size
        self.lookback = timedelta(days=lookback_days)
        self.tick = tick
        self.facts = XenditFacts()
        self._invoices: dict[str, Invoice] = {}  # by Xendit id
        self._by_external_id: dict[str, Invoice | None] = {}
        self._captures: dict[str, tuple[PaymentRequest, list[Capture]]] = {}

    @property
    def _read_range(self) -> tuple[datetime, datetime]:
        start, end = self.window.days
        return start, end - timedelta(microseconds=1)

    async def read(self) -> XenditFacts:
        await self.paid_invoices()
        await self.expired_invoices()
        await self.payment_requests()
        await self.refunds()
        return self.facts

    # --- invoices ------------------------------------------------------------------------------------

    async def paid_invoices(self) -> None:
        async for page in self.xendit.iter_invoices(
            statuses=["PAID", "SETTLED"], paid=self._read_range, page_size=self.page_size
        ):
            for invoice in page:
                self._invoices[invoice.id] = invoice
                self._paid(invoice)
            self.tick("Xendit invoices", len(page))

    def _paid(self, invoice: Invoice) -> None:
        try:
            event = payment_event(invoice)
        except BillingError as exc:
            self.facts.unreadable.append(f"Xendit invoice {invoice.id}: {exc}")
            return
        if not self.window.contains(event.paid_at):
            self.facts.known_ids.add(event.payment_id)
            return
        repair = paid_callback(invoice, event.customer_id)
        self.facts.payments[event.payment_id] = ExpectedPayment(event, repair)
        self._view(invoice, event.customer_id, event.invoice_id)

    def _view(self, invoice: Invoice, customer_id: str, invoice_id: str) -> None:
        current = self.facts.invoices.get(invoice_id)
        if current is not None and current.status in ("PAID", "SETTLED"):
            return  # a paid copy wins over a duplicate (xendit_sync's pick_existing)
        self.facts.invoices[invoice_id] = XenditInvoiceView(
            invoice_id=invoice_id,
            customer_id=customer_id,
            xendit_invoice_id=invoice.id,
            currency=invoice.currency or "IDR",
            amount=invoice.amount,
            status=invoice.status,
            paid_amount=invoice.paid_amount,
        )

    async def expired_invoices(self) -> None:
        async for page in self.xendit.iter_invoices(
            statuses=["EXPIRED"], expired=self._read_range, page_size=self.page_size
        ):
            for invoice in page:
                self._invoices[invoice.id] = invoice
                try:
                    event = expired_event(invoice)
                except BillingError as exc:
                    self.facts.unreadable.append(f"Xendit invoice {invoice.id}: {exc}")
                    continue
                if self.window.contains(event.expired_at):
                    repair = expired_callback(invoice, event.customer_id)
                    self.facts.expiries[invoice.id] = ExpectedExpiry(event, repair)
                    self._view(invoice, event.customer_id, event.invoice_id)
            self.tick("Xendit invoices", len(page))

    async def _invoice(self, xendit_id: str) -> Invoice | None:
        if xendit_id not in self._invoices:
            found = await self.xendit.get_invoice(xendit_id)
            if found is None:
                return None
            self._invoices[xendit_id] = found
        return self._invoices[xendit_id]

    async def _lovia_invoice(self, invoice_id: str) -> Invoice | None:
        """Xendit's invoice for our invoice id (a paid one wins over duplicates)."""
        if invoice_id not in self._by_external_id:
            found = await self.xendit.find_invoices(external_id=invoice_id, page_size=10, max_pages=1)
            paid = [i for i in found if i.is_paid]
            chosen = paid or found
            self._by_external_id[invoice_id] = chosen[0] if chosen else None
        return self._by_external_id[invoice_id]

    # --- other products' payments --------------------------------------------------------------------

    async def payment_requests(self) -> None:
        oldest = self.window.days[0] - self.lookback
        async for page in self.xendit.iter_payment_requests(page_size=self.page_size):
            for request in page:
                if request.status == SUCCEEDED and request.updated >= self.window.days[0]:
                    await self._request_payments(request)
            self.tick("Xendit payment requests", len(page))
            if page[-1].created < oldest:
                return

    async def _captures_of(self, request: PaymentRequest) -> list[Capture]:
        if request.id not in self._captures:
            listed = await self.xendit.list_captures(request.id)
            self._captures[request.id] = (request, list(listed.data) if listed else [])
        return self._captures[request.id][1]

    async def _request_payments(self, request: PaymentRequest) -> None:
        for capture in await self._captures_of(request):
            if capture.status != SUCCEEDED:
                continue
            event = await self._request_payment_event(request, capture)
            if event is None:
                continue
            if self.window.contains(event.paid_at):
                repair = payment_request_callback(request, capture, event.customer_id)
                self.facts.payments[event.payment_id] = ExpectedPayment(event, repair)
            else:
                self.facts.known_ids.add(event.payment_id)

    async def _request_payment_event(
        self, request: PaymentRequest, capture: Capture
    ) -> PaymentSucceeded | None:
        method = request.payment_method
        return await self._claimed(
            source=XenditProduct.PAYMENT_REQUEST,
            payment_id=capture.payment_id,
            object_id=request.id,
            currency=request.currency,
            amount=capture.captured_amount,
            paid_at=capture.updated,
            method=method.type if method else None,
            channel=method.channel_code if method else None,
            metadata=request.metadata or capture.metadata,
            reference_id=request.reference_id,
        )

    async def _claimed(
        self,
        *,
        source: XenditProduct,
        payment_id: str,
        object_id: str,
        currency: str,
        amount: Decimal,
        paid_at: datetime,
        method: str | None,
        channel: str | None,
        metadata: dict[str, Any] | None,
        reference_id: str | None,
    ) -> PaymentSucceeded | None:
        """The payment xendit_sync books for a product's payment: to the Lovia invoice its metadata (or
        reference id) names, for that invoice's customer at Xendit; None when it names none of ours."""
        metadata = metadata or {}
        invoice_id = str(metadata.get(INVOICE_KEY) or reference_id or "")
        invoice = await self._lovia_invoice(invoice_id) if invoice_id else None
        if invoice is None:
            self.facts.unreadable.append(f"{source} payment {payment_id}: names no Lovia invoice at Xendit")
            return None
        try:
            customer_id, lovia_invoice_id = owner(invoice)
            return PaymentSucceeded.create(
                customer_id=str(metadata.get(CUSTOMER_KEY) or customer_id),
                invoice_id=lovia_invoice_id,
                xendit_invoice_id=object_id,
                payment_id=payment_id,
                source=source,
                currency=bookable_currency(currency, f"{source} payment {payment_id}"),
                amount=amount,
                invoice_amount=invoice.amount,
                method=method,
                channel=channel,
                paid_at=paid_at,
            )
        except (BillingError, ValueError) as exc:
            self.facts.unreadable.append(f"{source} payment {payment_id}: {exc}")
            return None

    # --- refunds ----------------------------------------------------------------------------------------

    async def refunds(self) -> None:
        oldest = self.window.days[0] - self.lookback
        start, end = self._read_range
        async for page in self.xendit.iter_refunds(page_size=self.page_size):
            for refund in page:
                if refund.status == SUCCEEDED and start <= refund.updated <= end:
                    await self._refund(refund)
            self.tick("Xendit refunds", len(page))
            if page[-1].created < oldest:
                return

    async def _refund(self, refund: Refund) -> None:
        payment = await self._refunded_payment(refund)
        if payment is None:
            self.facts.unreadable.append(f"refund {refund.id}: its payment is not one of ours at Xendit")
            return
        try:
            event = refund_event(refund, payment)
        except BillingError as exc:
            self.facts.unreadable.append(f"refund {refund.id}: {exc}")
            return
        if self.window.contains(event.refunded_at):
            self.facts.refunds[refund.id] = ExpectedRefund(event, refund_callback(refund, event.customer_id))
        else:
            self.facts.known_ids.add(refund.id)

    async def _refunded_payment(self, refund: Refund) -> PaymentSucceeded | None:
        try:
            if refund.invoice_id:
                invoice = await self._invoice(refund.invoice_id)
                return payment_event(invoice) if invoice is not None and invoice.is_paid else None
            if refund.payment_request_id:
                request = await self.xendit.get_payment_request(refund.payment_request_id)
                if request is None:
                    return None
                captures = await self._captures_of(request)
                capture = next((c for c in captures if c.payment_id == refund.payment_id), None)
                return await self._request_payment_event(request, capture) if capture else None
        except BillingError as exc:
            self.facts.unreadable.append(f"refund {refund.id}: {exc}")
        return None

    # --- payments found in the books that the lists did not show ---------------------------------------

    async def confirm(self, payment_id: str) -> bool:
        """Whether Xendit knows ``payment_id`` as a payment of one of our invoices (an e-wallet charge or a
        fixed-VA payment, which have no list): added to the facts if so (checked if in the window)."""
        event: PaymentSucceeded | None = None
        if payment_id.startswith("ewc_"):
            charge = await self.xendit.get_ewallet_charge(payment_id)
            if charge is not None and charge.status == SUCCEEDED:
                event = await self._charge_event(charge)
        elif payment_id.isdigit():
            fva = await self.xendit.get_fva_payment(payment_id)
            if fva is not None:
                event = await self._fva_event(fva)
        if event is None:
            return False
        if self.window.contains(event.paid_at):
            self.facts.payments[event.payment_id] = ExpectedPayment(event, None)
        else:
            self.facts.known_ids.add(event.payment_id)
        return True

    async def _charge_event(self, charge: EwalletCharge) -> PaymentSucceeded | None:
        return await self._claimed(
            source=XenditProduct.EWALLET,
            payment_id=charge.id,
            object_id=charge.id,
            currency=charge.currency,
            amount=charge.capture_amount if charge.capture_amount is not None else charge.charge_amount,
            paid_at=charge.updated,
            method="EWALLET",
            channel=charge.channel_code,
            metadata=charge.metadata,
            reference_id=charge.reference_id,
        )

    async def _fva_event(self, payment: FvaPayment) -> PaymentSucceeded | None:
        return await self._claimed(
            source=XenditProduct.FVA,
            payment_id=payment.payment_id,
            object_id=payment.callback_virtual_account_id,
            currency=payment.currency,
            amount=payment.amount,
            paid_at=payment.transaction_timestamp,
            method="BANK_TRANSFER",
            channel=payment.bank_code,
            metadata=None,
            reference_id=payment.external_id,
        )
