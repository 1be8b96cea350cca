"""Xendit's invoice API (``/v2/invoices``, ``/invoices/{id}/expire!``), expiry, and its side door.

An invoice expires by itself ``invoice_duration`` real seconds after creation (a timer, and lazily
whenever it is read), and the EXPIRED callback goes to ``<base>/invoice``. Side door:
``/_sandbox/invoices/{id}/pay`` (any channel of the invoice's currency), ``/expire``, ``/settle``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from pydantic import Field

from billing_sandboxes.xendit._callbacks import DEFAULT_OPTIONS, Delivery, DeliveryOptions
from billing_sandboxes.xendit._channels import callback_body, payment_fields
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import validation_error
from billing_sandboxes.xendit._http import (
    AnyRequest,
    json_response,
    parse,
    query_limit,
    query_list,
    read_json,
)
from billing_sandboxes.xendit._invoices import STATUSES, Invoice, TimeRange, build_invoice
from billing_sandboxes.xendit._validate import body_object


class Pay(DeliveryOptions):
    channel: str = Field(
        description="BCA, MANDIRI, QRIS, OVO, DANA, GCASH, 7ELEVEN, DD_BPI, CREDIT_CARD, ..."
    )
    method: str | None = Field(default=None, description="payment_method override")
    amount: Decimal | None = Field(default=None, description="paid amount (default: the invoice amount)")
    fee: Decimal | None = Field(default=None, description="Xendit's fee: sets adjusted_received_amount")
    paid_at: datetime | None = None
    after_expiry: bool = Field(default=False, description="allow paying an EXPIRED invoice")


class Settle(DeliveryOptions):
    notify: bool = Field(default=False, description="send a SETTLED callback (Xendit documents none)")


def send_invoice(sandbox: XenditSandbox, invoice: Invoice, options: DeliveryOptions) -> list[Delivery]:
    body = callback_body(invoice)
    return sandbox.send("invoice", body, object_id=invoice["id"], event=invoice["status"], options=options)


def expire(
    sandbox: XenditSandbox, invoice_id: str, options: DeliveryOptions = DEFAULT_OPTIONS, *, due: bool = False
) -> tuple[Invoice, list[Delivery]]:
    """PENDING → EXPIRED and the EXPIRED callback; ``due`` keeps ``expiry_date`` (it ran out)."""
    moment = iso(now())
    changes = {"status": "EXPIRED", "updated": moment} | ({} if due else {"expiry_date": moment})
    invoice = sandbox.invoices.update(invoice_id, changes, allowed=("PENDING",))
    return invoice, send_invoice(sandbox, invoice, options)


def _remaining(invoice: Invoice) -> float:
    deadline = datetime.fromisoformat(invoice["expiry_date"])
    return (deadline - now()).total_seconds()


def refresh(sandbox: XenditSandbox, invoice_id: str) -> Invoice:
    """The invoice as it is now: a PENDING one past its ``expiry_date`` expires here (lazily)."""
    invoice = sandbox.invoices.get(invoice_id)
    if invoice["status"] == "PENDING" and _remaining(invoice) <= 0:
        invoice, _ = expire(sandbox, invoice_id, due=True)
    return invoice


def refresh_all(sandbox: XenditSandbox) -> None:
    for invoice in sandbox.invoices.all():
        if invoice["status"] == "PENDING":
            refresh(sandbox, invoice["id"])


def schedule_expiry(sandbox: XenditSandbox, invoice: Invoice) -> None:
    invoice_id = invoice["id"]

    def due() -> None:
        current = sandbox.invoices.find(invoice_id)
        if current is None or current["status"] != "PENDING":
            return
        left = _remaining(current)
        if left > 0:  # the loop's clock ran ahead of the wall clock: wait the rest
            sandbox.call_later(left + 0.005, due)
            return
        refresh(sandbox, invoice_id)

    sandbox.call_later(max(0.0, _remaining(invoice)), due)


def mark_paid(
    sandbox: XenditSandbox,
    invoice_id: str,
    fields: dict[str, Any],
    options: DeliveryOptions = DEFAULT_OPTIONS,
    *,
    after_expiry: bool = False,
) -> tuple[Invoice, list[Delivery]]:
    refresh(sandbox, invoice_id)
    allowed = ("PENDING", "EXPIRED") if after_expiry else ("PENDING",)
    invoice = sandbox.invoices.update(invoice_id, {**fields, "status": "PAID"}, allowed=allowed)
    return invoice, send_invoice(sandbox, invoice, options)


#: The list's time filters (PY7 ``get_invoices``): query prefix → the invoice field it filters on.
TIME_FILTERS = {"created": "created", "paid": "paid_at", "expired": "expiry_date"}


def _moment(request: AnyRequest, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise validation_error(f"{name} must be an ISO 8601 date-time; got {raw!r}") from None
    if moment.tzinfo is None:
        raise validation_error(f"{name} must carry a time zone (e.g. 2026-11-25T00:00:00.000Z)")
    return moment


def time_ranges(request: AnyRequest) -> dict[str, TimeRange]:
    """``created_after``/``_before``, ``paid_after``/``_before``, ``expired_after``/``_before``."""
    ranges: dict[str, TimeRange] = {}
    for prefix, field in TIME_FILTERS.items():
        after, before = _moment(request, f"{prefix}_after"), _moment(request, f"{prefix}_before")
        if after is not None or before is not None:
            ranges[field] = TimeRange(after, before)
    return ranges


def api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/v2/invoices", status_code=200)
    async def create_invoice(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        fixed_va = None
        if body.get("callback_virtual_account_id") is not None:
            fixed_va = sandbox.virtual_accounts.get(str(body["callback_virtual_account_id"]))
        invoice = sandbox.invoices.add(build_invoice(body, sandbox.config, now(), fixed_va))
        schedule_expiry(sandbox, invoice)
        return json_response(invoice, headers=headers)

    @get("/v2/invoices/{invoice_id:str}")
    async def get_invoice(request: AnyRequest, invoice_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(refresh(sandbox, invoice_id), headers=headers)

    @get("/v2/invoices")
    async def list_invoices(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        statuses = query_list(request, "statuses")
        if unknown := [s for s in statuses if s not in STATUSES]:
            raise validation_error(f"statuses must be among {', '.join(STATUSES)}; got {', '.join(unknown)}")
        refresh_all(sandbox)
        found = sandbox.invoices.search(
            external_id=request.query_params.get("external_id"),
            statuses=statuses,
            limit=query_limit(request),
            last_invoice=request.query_params.get("last_invoice"),
            ranges=time_ranges(request),
        )
        return json_response(found, headers=headers)

    @post("/invoices/{invoice_id:str}/expire!", status_code=200)
    async def expire_invoice(request: AnyRequest, invoice_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        current = refresh(sandbox, invoice_id)
        if current["status"] == "EXPIRED":  # already expired: the invoice as it is, no new callback
            return json_response(current, headers=headers)
        invoice, _ = expire(sandbox, invoice_id)
        return json_response(invoice, headers=headers)

    return [create_invoice, get_invoice, list_invoices, expire_invoice]


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/_sandbox/invoices/{invoice_id:str}/pay", status_code=200)
    async def pay(request: AnyRequest, invoice_id: FromPath[str]) -> Response[bytes]:
        order: Pay = parse(Pay, await read_json(request))
        current = refresh(sandbox, invoice_id)
        amount = current["amount"] if order.amount is None else order.amount
        paid_at = order.paid_at or now()
        fields = payment_fields(
            order.channel, current["currency"], amount, paid_at, method=order.method, fee=order.fee
        )
        invoice, sent = mark_paid(sandbox, invoice_id, fields, order, after_expiry=order.after_expiry)
        return json_response({"invoice": invoice, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/invoices/{invoice_id:str}/expire", status_code=200)
    async def expire_now(request: AnyRequest, invoice_id: FromPath[str]) -> Response[bytes]:
        order: DeliveryOptions = parse(DeliveryOptions, await read_json(request))
        invoice, sent = expire(sandbox, invoice_id, order)
        return json_response({"invoice": invoice, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/invoices/{invoice_id:str}/settle", status_code=200)
    async def settle(request: AnyRequest, invoice_id: FromPath[str]) -> Response[bytes]:
        order: Settle = parse(Settle, await read_json(request))
        changes = {"status": "SETTLED", "updated": iso(now())}
        invoice = sandbox.invoices.update(invoice_id, changes, allowed=("PAID",))
        sent = send_invoice(sandbox, invoice, order) if order.notify else []
        return json_response({"invoice": invoice, "callbacks": [d.id for d in sent]})

    return [pay, expire_now, settle]
