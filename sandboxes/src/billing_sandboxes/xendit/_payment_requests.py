"""Payment Requests v2 (``/payment_requests``), their payments (``py-…``) and captures (PY7).

A request pays with an inline ``payment_method`` (a new PaymentMethod is created) or an ACTIVE
``payment_method_id``. E-wallets, direct debit and cards wait for the customer (REQUIRES_ACTION
with an AUTH action), virtual accounts / QR / over-the-counter for the transfer (PENDING). Test
mode's ``POST /payment_requests/{id}/payments/simulate`` pays it: the request turns SUCCEEDED, a
payment ``py-…`` and its capture are recorded and ``payment.succeeded`` goes to ``<base>/payment``.
The side door fails one instead (``payment.failed``). ``idempotency-key``: the same key and body
give the same request; the same key with another body is 409 ``DUPLICATE_ERROR``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from pydantic import BaseModel, ConfigDict, Field

from billing_sandboxes.xendit._callbacks import DEFAULT_OPTIONS, Delivery, DeliveryOptions
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError, not_found, validation_error
from billing_sandboxes.xendit._http import AnyRequest, json_response, page, parse, query_list, read_json
from billing_sandboxes.xendit._payment_methods import build_payment_method
from billing_sandboxes.xendit._store import Record
from billing_sandboxes.xendit._validate import COUNTRY_OF, amount, body_object, metadata, one_of, optional_str

CURRENCIES = ("IDR", "PHP", "VND", "THB", "MYR", "USD")
COUNTRIES = ("ID", "PH", "VN", "TH", "MY")
PAYABLE = ("PENDING", "REQUIRES_ACTION", "AWAITING_CAPTURE")
_WAITS_FOR_CUSTOMER = ("EWALLET", "DIRECT_DEBIT", "CARD")


class Outcome(DeliveryOptions):
    """A side-door completion of a payment request."""

    amount: Decimal | None = Field(default=None, gt=0)


class Failure(DeliveryOptions):
    failure_code: str = "PAYMENT_DECLINED"


class Simulation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amount: Decimal | None = Field(default=None, gt=0)


def _method_for(sandbox: XenditSandbox, body: dict[str, Any], currency: str, country: str) -> Record:
    method_id = optional_str(body, "payment_method_id")
    if method_id is not None:
        method = sandbox.payment_methods.find(method_id)
        if method is None:
            raise not_found("Payment method", method_id, "PAYMENT_METHOD_NOT_FOUND_ERROR")
        if method["status"] != "ACTIVE":
            raise XenditApiError(
                400, "INVALID_PAYMENT_METHOD", f"Payment method {method_id} is {method['status']}, not ACTIVE"
            )
        return method
    if body.get("payment_method") is None:
        raise validation_error("payment_method or payment_method_id is required")
    method = build_payment_method(
        body["payment_method"],
        business_id=sandbox.config.business_id,
        moment=now(),
        currency=currency,
        country=country,
        customer_id=optional_str(body, "customer_id"),
    )
    return sandbox.payment_methods.add(method)


def create(sandbox: XenditSandbox, body: dict[str, Any]) -> Record:
    currency = one_of(body.get("currency"), "currency", CURRENCIES)
    country = one_of(body.get("country"), "country", COUNTRIES, default=COUNTRY_OF[currency])
    requested = None if body.get("amount") is None else amount(body["amount"])
    method = _method_for(sandbox, body, currency, country)
    if requested is None and method["type"] not in ("VIRTUAL_ACCOUNT", "QR_CODE", "OVER_THE_COUNTER"):
        raise validation_error("amount is required")
    request_id = f"pr-{uuid.uuid4()}"
    waits = method["type"] in _WAITS_FOR_CUSTOMER and optional_str(body, "payment_method_id") is None
    actions = []
    if waits:
        url = f"https://ewallet-mock-connector.xendit.co/v1/ewallet_connector/checkouts?token={request_id}"
        actions = [{"action": "AUTH", "url_type": "WEB", "method": "GET", "url": url, "qr_code": None}]
    moment = iso(now())
    record: Record = {
        "id": request_id,
        "business_id": sandbox.config.business_id,
        "reference_id": optional_str(body, "reference_id") or str(uuid.uuid4()),
        "customer_id": optional_str(body, "customer_id") or method.get("customer_id"),
        "customer": body.get("customer"),
        "amount": requested,
        "min_amount": None,
        "max_amount": None,
        "currency": currency,
        "country": country,
        "description": optional_str(body, "description"),
        "status": "REQUIRES_ACTION" if waits else "PENDING",
        "payment_method": method,
        "channel_properties": body.get("channel_properties"),
        "capture_method": one_of(
            body.get("capture_method"), "capture_method", ("AUTOMATIC", "MANUAL"), default="AUTOMATIC"
        ),
        "initiator": body.get("initiator"),
        "card_verification_results": None,
        "actions": actions,
        "failure_code": None,
        "metadata": metadata(body.get("metadata")),
        "shipping_information": body.get("shipping_information"),
        "items": body.get("items"),
        "created": moment,
        "updated": moment,
    }
    return sandbox.payment_requests.add(record)


def _payment(request: Record, status: str, paid: Decimal, failure_code: str | None) -> Record:
    moment = iso(now())
    method = {
        **request["payment_method"],
        "status": "ACTIVE" if status == "SUCCEEDED" else request["payment_method"]["status"],
    }
    return {
        "id": f"py-{uuid.uuid4()}",
        "payment_request_id": request["id"],
        "reference_id": request["reference_id"],
        "customer_id": request["customer_id"],
        "amount": paid,
        "currency": request["currency"],
        "country": request["country"],
        "status": status,
        "payment_method": method,
        "channel_properties": request["channel_properties"],
        "payment_detail": None,
        "failure_code": failure_code,
        "metadata": request["metadata"],
        "description": request["description"],
        "created": moment,
        "updated": moment,
    }


def _payable(request: Record) -> None:
    if request["status"] == "SUCCEEDED":
        raise XenditApiError(
            400, "PAYMENT_REQUEST_ALREADY_COMPLETED", f"Payment request {request['id']} is SUCCEEDED"
        )
    if request["status"] not in PAYABLE:
        raise XenditApiError(
            400, "PAYMENT_REQUEST_ALREADY_FAILED", f"Payment request {request['id']} is {request['status']}"
        )


def succeed(
    sandbox: XenditSandbox,
    request_id: str,
    paid: Decimal | None = None,
    options: DeliveryOptions = DEFAULT_OPTIONS,
) -> tuple[Record, list[Delivery]]:
    """The request paid: SUCCEEDED, a ``py-`` payment and its capture, ``payment.succeeded`` sent."""
    request = sandbox.payment_requests.get(request_id)
    _payable(request)
    paid = paid if paid is not None else request["amount"]
    if paid is None:
        raise validation_error("amount is required to pay a payment request without an amount")
    payment = sandbox.payments.add(_payment(request, "SUCCEEDED", paid, None))
    sandbox.captures.add(
        {
            "id": f"cptr-{uuid.uuid4()}",
            "payment_request_id": request_id,
            "payment_id": payment["id"],
            "reference_id": request["reference_id"],
            "currency": request["currency"],
            "authorized_amount": paid,
            "captured_amount": paid,
            "status": "SUCCEEDED",
            "payment_method": payment["payment_method"],
            "failure_code": None,
            "customer_id": request["customer_id"],
            "metadata": request["metadata"],
            "channel_properties": request["channel_properties"],
            "created": payment["created"],
            "updated": payment["updated"],
        }
    )
    changes = {
        "status": "SUCCEEDED",
        "actions": [],
        "updated": payment["updated"],
        "payment_method": payment["payment_method"],
    }
    sandbox.payment_requests.update(request_id, changes)
    return payment, sandbox.send_event(
        "payment", "payment.succeeded", payment, options=options, api_version=None
    )


def fail(
    sandbox: XenditSandbox, request_id: str, failure_code: str, options: DeliveryOptions = DEFAULT_OPTIONS
) -> tuple[Record, list[Delivery]]:
    request = sandbox.payment_requests.get(request_id)
    _payable(request)
    payment = sandbox.payments.add(_payment(request, "FAILED", request["amount"] or Decimal(0), failure_code))
    changes = {"status": "FAILED", "failure_code": failure_code, "actions": [], "updated": payment["updated"]}
    sandbox.payment_requests.update(request_id, changes)
    return payment, sandbox.send_event(
        "payment", "payment.failed", payment, options=options, api_version=None
    )


def api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/payment_requests", status_code=201)
    async def create_request(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        key = request.headers.get("idempotency-key")
        replayed = sandbox.idempotency.replay("POST /payment_requests", key, body)
        if replayed is not None:
            return json_response(sandbox.payment_requests.get(replayed), 201, headers)
        record = create(sandbox, body)
        sandbox.idempotency.remember("POST /payment_requests", key, body, record["id"])
        return json_response(record, 201, headers)

    @get("/payment_requests/{request_id:str}")
    async def get_one(request: AnyRequest, request_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(sandbox.payment_requests.get(request_id), headers=headers)

    @get("/payment_requests")
    async def list_all(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        filters = {name: query_list(request, name) for name in ("id", "reference_id", "customer_id")}
        found = sandbox.payment_requests.where(
            lambda pr: all(not wanted or pr.get(name) in wanted for name, wanted in filters.items())
        )
        return json_response(page(request, found), headers=headers)

    @get("/payment_requests/{request_id:str}/captures")
    async def captures(request: AnyRequest, request_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        sandbox.payment_requests.get(request_id)
        found = sandbox.captures.where(lambda capture: capture["payment_request_id"] == request_id)
        return json_response(page(request, found), headers=headers)

    @post("/payment_requests/{request_id:str}/payments/simulate", status_code=200)
    async def simulate(request: AnyRequest, request_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        order: Simulation = parse(Simulation, await read_json(request))
        succeed(sandbox, request_id, order.amount)
        message = "Payment simulation has been completed; the payment.succeeded webhook is on its way."
        return json_response({"status": "SUCCEEDED", "message": message}, headers=headers)

    return [create_request, get_one, list_all, captures, simulate]


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/_sandbox/payment_requests/{request_id:str}/succeed", status_code=200)
    async def side_succeed(request: AnyRequest, request_id: FromPath[str]) -> Response[bytes]:
        order: Outcome = parse(Outcome, await read_json(request))
        payment, sent = succeed(sandbox, request_id, order.amount, order)
        return json_response({"payment": payment, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/payment_requests/{request_id:str}/fail", status_code=200)
    async def side_fail(request: AnyRequest, request_id: FromPath[str]) -> Response[bytes]:
        order: Failure = parse(Failure, await read_json(request))
        payment, sent = fail(sandbox, request_id, order.failure_code, order)
        return json_response({"payment": payment, "callbacks": [d.id for d in sent]})

    return [side_succeed, side_fail]
