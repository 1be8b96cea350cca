"""Refunds (``/refunds``) of paid invoices and succeeded payment requests (PY7 ``refund``).

``amount`` defaults to all that remains refundable; partial refunds add up to at most the paid
amount (beyond: 400 ``MAXIMUM_REFUND_AMOUNT_REACHED``); an unpaid object is 400
``INELIGIBLE_TRANSACTION``. A refund answers PENDING and turns SUCCEEDED at once, sending
``refund.succeeded`` to ``<base>/refund`` — unless ``hold_refunds`` is on: then it stays PENDING
until the side door's ``/_sandbox/refunds/{id}/succeed`` or ``/fail`` (``refund.failed``).
``idempotency-key`` works as for payment requests.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from billing_sandboxes.xendit._callbacks import DEFAULT_OPTIONS, Delivery, DeliveryOptions
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError, not_found, validation_error
from billing_sandboxes.xendit._http import AnyRequest, json_response, page, parse, query_list, read_json
from billing_sandboxes.xendit._invoice_api import refresh
from billing_sandboxes.xendit._payment_methods import channel_code
from billing_sandboxes.xendit._payment_requests import Failure
from billing_sandboxes.xendit._store import Record
from billing_sandboxes.xendit._validate import COUNTRY_OF, amount, body_object, metadata, one_of, optional_str

REASONS = ("FRAUDULENT", "DUPLICATE", "REQUESTED_BY_CUSTOMER", "CANCELLATION", "OTHERS")
#: An invoice's payment_method → the Payments API's payment_method_type.
_METHOD_TYPES: dict[str, str] = {
    "BANK_TRANSFER": "VIRTUAL_ACCOUNT",
    "CALLBACK_VIRTUAL_ACCOUNT": "VIRTUAL_ACCOUNT",
    "POOL": "VIRTUAL_ACCOUNT",
    "CREDIT_CARD": "CARD",
    "RETAIL_OUTLET": "OVER_THE_COUNTER",
    "QR_CODE": "QR_CODE",
    "QRIS": "QR_CODE",
    "EWALLET": "EWALLET",
    "DIRECT_DEBIT": "DIRECT_DEBIT",
    "PAYLATER": "PAYLATER",
}


def _source(sandbox: XenditSandbox, body: dict[str, Any]) -> dict[str, Any]:
    """What is refunded: its ids, paid amount, payment and channel."""
    invoice_id = optional_str(body, "invoice_id")
    request_id = optional_str(body, "payment_request_id")
    if (invoice_id is None) == (request_id is None):
        raise validation_error("exactly one of invoice_id and payment_request_id is required")
    if invoice_id is not None:
        invoice = sandbox.invoices.find(invoice_id)
        if invoice is None:
            raise not_found("Invoice", invoice_id)
        invoice = refresh(sandbox, invoice_id)
        if invoice["status"] not in ("PAID", "SETTLED"):
            raise XenditApiError(
                400,
                "INELIGIBLE_TRANSACTION",
                f"Invoice {invoice_id} is {invoice['status']}; only a paid one refunds",
            )
        return {
            "invoice_id": invoice_id,
            "payment_request_id": None,
            "payment_id": invoice.get("payment_id"),
            "paid": invoice.get("paid_amount", invoice["amount"]),
            "currency": invoice["currency"],
            "country": COUNTRY_OF.get(invoice["currency"], "ID"),
            "payment_method_type": _METHOD_TYPES.get(
                invoice.get("payment_method", ""), invoice.get("payment_method")
            ),
            "channel_code": invoice.get("payment_channel"),
        }
    assert request_id is not None
    request = sandbox.payment_requests.get(request_id)
    if request["status"] != "SUCCEEDED":
        raise XenditApiError(
            400,
            "INELIGIBLE_TRANSACTION",
            f"Payment request {request_id} is {request['status']}, not SUCCEEDED",
        )
    [payment] = sandbox.payments.where(
        lambda py: py["payment_request_id"] == request_id and py["status"] == "SUCCEEDED"
    )
    return {
        "invoice_id": None,
        "payment_request_id": request_id,
        "payment_id": payment["id"],
        "paid": payment["amount"],
        "currency": request["currency"],
        "country": request["country"],
        "payment_method_type": request["payment_method"]["type"],
        "channel_code": channel_code(request["payment_method"]),
    }


def _refunded(sandbox: XenditSandbox, source: dict[str, Any]) -> Decimal:
    key = "invoice_id" if source["invoice_id"] else "payment_request_id"
    return sum(
        (r["amount"] for r in sandbox.refunds.all() if r[key] == source[key] and r["status"] != "FAILED"),
        Decimal(0),
    )


def create(sandbox: XenditSandbox, body: dict[str, Any]) -> Record:
    source = _source(sandbox, body)
    remaining = source["paid"] - _refunded(sandbox, source)
    wanted = remaining if body.get("amount") is None else amount(body["amount"])
    if wanted <= 0 or wanted > remaining:
        raise XenditApiError(
            400,
            "MAXIMUM_REFUND_AMOUNT_REACHED",
            f"Refund amount {wanted} exceeds the remaining refundable amount {remaining}",
        )
    currency = body.get("currency")
    if currency is not None and currency != source["currency"]:
        raise validation_error(f"currency must be {source['currency']}, the paid currency")
    moment = iso(now())
    refund: Record = {
        "id": f"rfd-{uuid.uuid4()}",
        "payment_request_id": source["payment_request_id"],
        "invoice_id": source["invoice_id"],
        "payment_id": source["payment_id"],
        "amount": wanted,
        "payment_method_type": source["payment_method_type"],
        "channel_code": source["channel_code"],
        "currency": source["currency"],
        "country": source["country"],
        "status": "PENDING",
        "reason": one_of(body.get("reason"), "reason", REASONS),
        "reference_id": optional_str(body, "reference_id"),
        "failure_code": None,
        "refund_fee_amount": None,
        "created": moment,
        "updated": moment,
        "metadata": metadata(body.get("metadata")),
    }
    return sandbox.refunds.add(refund)


def finish(
    sandbox: XenditSandbox,
    refund_id: str,
    *,
    failure_code: str | None = None,
    options: DeliveryOptions = DEFAULT_OPTIONS,
) -> tuple[Record, list[Delivery]]:
    """PENDING → SUCCEEDED (or FAILED) and ``refund.succeeded`` / ``refund.failed``."""
    if (status := sandbox.refunds.get(refund_id)["status"]) != "PENDING":
        raise XenditApiError(400, "INVALID_STATUS", f"Refund {refund_id} is {status}, not PENDING")
    changes = {
        "status": "FAILED" if failure_code else "SUCCEEDED",
        "failure_code": failure_code,
        "updated": iso(now()),
    }
    refund = sandbox.refunds.update(refund_id, changes)
    event = "refund.failed" if failure_code else "refund.succeeded"
    return refund, sandbox.send_event("refund", event, refund, options=options)


def api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/refunds", status_code=201)
    async def create_refund(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        key = request.headers.get("idempotency-key")
        replayed = sandbox.idempotency.replay("POST /refunds", key, body)
        if replayed is not None:
            return json_response(sandbox.refunds.get(replayed), 201, headers)
        refund = create(sandbox, body)
        sandbox.idempotency.remember("POST /refunds", key, body, refund["id"])
        if not sandbox.config.hold_refunds:
            finish(sandbox, refund["id"])
        return json_response(refund, 201, headers)

    @get("/refunds/{refund_id:str}")
    async def get_one(request: AnyRequest, refund_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(sandbox.refunds.get(refund_id), headers=headers)

    @get("/refunds")
    async def list_all(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        names = ("payment_request_id", "invoice_id", "payment_method_type", "channel_code")
        filters = {name: query_list(request, name) for name in names}
        found = sandbox.refunds.where(
            lambda refund: all(not wanted or refund.get(name) in wanted for name, wanted in filters.items())
        )
        return json_response(page(request, found), headers=headers)

    return [create_refund, get_one, list_all]


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/_sandbox/refunds/{refund_id:str}/succeed", status_code=200)
    async def succeed(request: AnyRequest, refund_id: FromPath[str]) -> Response[bytes]:
        options: DeliveryOptions = parse(DeliveryOptions, await read_json(request))
        refund, sent = finish(sandbox, refund_id, options=options)
        return json_response({"refund": refund, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/refunds/{refund_id:str}/fail", status_code=200)
    async def fail(request: AnyRequest, refund_id: FromPath[str]) -> Response[bytes]:
        order: Failure = parse(Failure, await read_json(request))
        refund, sent = finish(sandbox, refund_id, failure_code=order.failure_code, options=order)
        return json_response({"refund": refund, "callbacks": [d.id for d in sent]})

    return [succeed, fail]
