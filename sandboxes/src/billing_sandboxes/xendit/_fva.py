"""Fixed virtual accounts (``/callback_virtual_accounts``) and their payments (ref §7).

A payment (test mode: ``POST /callback_virtual_accounts/external_id={external_id}/simulate_payment``)
records the flat ``fva_paid`` body, readable at ``GET /callback_virtual_account_payments/
payment_id={payment_id}`` and POSTed to ``<base>/fva``. A closed VA (``is_closed``) takes only its
``expected_amount``; a single-use VA turns INACTIVE once paid. A PENDING invoice bound to the VA
(``callback_virtual_account_id``) is paid by the payment, with the same ``payment_id``.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath
from pydantic import Field

from billing_sandboxes.xendit._callbacks import DEFAULT_OPTIONS, Delivery, DeliveryOptions
from billing_sandboxes.xendit._channels import va_payment_id
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError, not_found, validation_error
from billing_sandboxes.xendit._http import AnyRequest, json_response, parse, read_json
from billing_sandboxes.xendit._invoice_api import mark_paid, refresh
from billing_sandboxes.xendit._store import Record
from billing_sandboxes.xendit._validate import (
    amount,
    body_object,
    one_of,
    optional_bool,
    optional_str,
    required_str,
)

#: Bank → the merchant code that prefixes its account numbers (opaque; shaped like Xendit's).
MERCHANT_CODES: dict[str, str] = {
    "BCA": "10766",
    "BNI": "8808",
    "BRI": "26215",
    "MANDIRI": "88608",
    "PERMATA": "8214",
    "BSI": "7510",
    "BJB": "12345",
    "CIMB": "5919",
    "SAHABAT_SAMPOERNA": "9999",
    "BNC": "9001",
}
CURRENCIES = ("IDR",)
_FAR_FUTURE = timedelta(days=365 * 31)  # Xendit's default expiration_date is ~31 years ahead


class SimulatePayment(DeliveryOptions):
    amount: Decimal = Field(gt=0)


def build_virtual_account(body: dict[str, Any], owner_id: str, moment: datetime) -> Record:
    external_id = required_str(body, "external_id")
    bank_code = one_of(body.get("bank_code"), "bank_code", MERCHANT_CODES)
    name = required_str(body, "name")
    is_closed = optional_bool(body, "is_closed", False)
    expected = (
        None if body.get("expected_amount") is None else amount(body["expected_amount"], "expected_amount")
    )
    if is_closed and expected is None:
        raise validation_error("expected_amount is required when is_closed is true")
    merchant_code = MERCHANT_CODES[bank_code]
    number = optional_str(body, "virtual_account_number") or str(secrets.randbelow(10**8)).zfill(8)
    account_number = number if number.startswith(merchant_code) else merchant_code + number
    expiration = optional_str(body, "expiration_date")
    if expiration is not None:
        try:
            datetime.fromisoformat(expiration)
        except ValueError:
            raise validation_error("expiration_date must be an ISO-8601 date-time") from None
    record: Record = {
        "id": secrets.token_hex(12),
        "owner_id": owner_id,
        "external_id": external_id,
        "bank_code": bank_code,
        "merchant_code": merchant_code,
        "name": name,
        "account_number": account_number,
        "is_closed": is_closed,
        "is_single_use": optional_bool(body, "is_single_use", False),
        "status": "ACTIVE",
        "currency": one_of(body.get("currency"), "currency", CURRENCIES, default="IDR"),
        "country": "ID",
        "expiration_date": expiration or iso(moment + _FAR_FUTURE),
        "created": iso(moment),
        "updated": iso(moment),
    }
    if expected is not None:
        record["expected_amount"] = expected
    if body.get("suggested_amount") is not None:
        record["suggested_amount"] = amount(body["suggested_amount"], "suggested_amount")
    if (description := optional_str(body, "description")) is not None:
        record["description"] = description
    return record


def pay(
    sandbox: XenditSandbox, va: Record, paid: Decimal, options: DeliveryOptions = DEFAULT_OPTIONS
) -> tuple[Record, list[Delivery]]:
    """A transfer of ``paid`` into ``va``: the fva_paid callback, and the bound invoice paid."""
    if va["status"] != "ACTIVE" or datetime.fromisoformat(va["expiration_date"]) <= now():
        raise XenditApiError(400, "INACTIVE_VIRTUAL_ACCOUNT_ERROR", f"Fixed VA {va['id']} is not active")
    if va["is_closed"] and paid != va["expected_amount"]:
        raise validation_error(
            f"Fixed VA {va['id']} is closed: it takes only its expected_amount {va['expected_amount']}"
        )
    moment = iso(now())
    payment: Record = {
        "id": secrets.token_hex(12),
        "payment_id": va_payment_id(),
        "callback_virtual_account_id": va["id"],
        "owner_id": va["owner_id"],
        "external_id": va["external_id"],
        "account_number": va["account_number"],
        "bank_code": va["bank_code"],
        "amount": paid,
        "transaction_timestamp": moment,
        "merchant_code": va["merchant_code"],
        "currency": va["currency"],
        "created": moment,
        "updated": moment,
    }
    sandbox.va_payments.add(payment)
    if va["is_single_use"]:
        sandbox.virtual_accounts.update(va["id"], {"status": "INACTIVE", "updated": moment})
    sent = sandbox.send("fva", payment, object_id=payment["payment_id"], event="fva_paid", options=options)
    for invoice in sandbox.invoices.all():
        if invoice.get("callback_virtual_account_id") == va["id"] and invoice["status"] == "PENDING":
            if refresh(sandbox, invoice["id"])["status"] != "PENDING":
                continue
            fields = {
                "is_high": False,
                "paid_amount": paid,
                "paid_at": moment,
                "updated": moment,
                "payment_method": "CALLBACK_VIRTUAL_ACCOUNT",
                "payment_channel": va["bank_code"],
                "bank_code": va["bank_code"],
                "payment_destination": va["account_number"],
                "payment_id": payment["payment_id"],
            }
            sent += mark_paid(sandbox, invoice["id"], fields, options)[1]
            break
    return payment, sent


def _by_external_id(sandbox: XenditSandbox, segment: str) -> Record:
    external_id = segment.removeprefix("external_id=")
    found = sandbox.virtual_accounts.where(lambda va: va["external_id"] == external_id)
    if not found:
        raise not_found(
            "Fixed virtual account with external_id", external_id, "CALLBACK_VIRTUAL_ACCOUNT_NOT_FOUND_ERROR"
        )
    return found[-1]


def api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/callback_virtual_accounts", status_code=200)
    async def create(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        va = sandbox.virtual_accounts.add(build_virtual_account(body, sandbox.config.business_id, now()))
        return json_response(va, headers=headers)

    @get("/callback_virtual_accounts/{va_id:str}")
    async def get_one(request: AnyRequest, va_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(sandbox.virtual_accounts.get(va_id), headers=headers)

    @post("/callback_virtual_accounts/{segment:str}/simulate_payment", status_code=200)
    async def simulate(request: AnyRequest, segment: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        va = _by_external_id(sandbox, segment)
        body = body_object(await read_json(request))
        pay(sandbox, va, amount(body.get("amount")))
        message = (
            f"Payment for the Fixed VA with external id {va['external_id']} is currently being processed. "
            "Please ensure that you have set a callback URL for VA payments via Dashboard Settings and "
            "contact us if you do not receive a VA payment callback within the next 5 mins."
        )
        return json_response({"status": "COMPLETED", "message": message}, headers=headers)

    @get("/callback_virtual_account_payments/{segment:str}")
    async def get_payment(request: AnyRequest, segment: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(sandbox.va_payments.get(segment.removeprefix("payment_id=")), headers=headers)

    return [create, get_one, simulate, get_payment]


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/_sandbox/callback_virtual_accounts/{va_id:str}/pay", status_code=200)
    async def side_pay(request: AnyRequest, va_id: FromPath[str]) -> Response[bytes]:
        order: SimulatePayment = parse(SimulatePayment, await read_json(request))
        payment, sent = pay(sandbox, sandbox.virtual_accounts.get(va_id), order.amount, order)
        return json_response({"payment": payment, "callbacks": [d.id for d in sent]})

    return [side_pay]
