"""Payment Methods v2 (``/v2/payment_methods``): the PaymentMethod object of PY7, also embedded in
payment requests and payments.

Virtual accounts, QR codes and over-the-counter codes are ACTIVE at once (and send
``payment_method.activated``); e-wallets, direct debit and cards that are MULTIPLE_USE need the
customer's authorisation: REQUIRES_ACTION with an AUTH action until the side door's ``/activate``.
``POST /v2/payment_methods/{id}/expire`` turns one EXPIRED (``payment_method.expired``).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from billing_sandboxes.xendit._callbacks import DeliveryOptions
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError, validation_error
from billing_sandboxes.xendit._http import AnyRequest, json_response, page, parse, query_list, read_json
from billing_sandboxes.xendit._store import Record
from billing_sandboxes.xendit._validate import COUNTRY_OF, body_object, metadata, one_of, optional_str

TYPES = ("CARD", "DIRECT_DEBIT", "EWALLET", "OVER_THE_COUNTER", "QR_CODE", "VIRTUAL_ACCOUNT")
#: Type → the key of its channel object in the PaymentMethod.
CHANNEL_KEYS: dict[str, str] = {
    "CARD": "card",
    "DIRECT_DEBIT": "direct_debit",
    "EWALLET": "ewallet",
    "OVER_THE_COUNTER": "over_the_counter",
    "QR_CODE": "qr_code",
    "VIRTUAL_ACCOUNT": "virtual_account",
}
#: Channel codes of PY7's enums (direct debit and card channels are not checked).
CHANNEL_CODES: dict[str, tuple[str, ...]] = {
    "EWALLET": (
        "GCASH", "GRABPAY", "PAYMAYA", "DANA", "OVO", "LINKAJA", "SHOPEEPAY", "NEXCASH", "ASTRAPAY",
        "JENIUSPAY", "SAKUKU", "APPOTA", "MOMO", "VNPTWALLET", "VIETTELPAY", "ZALOPAY", "WECHATPAY",
        "LINEPAY", "TRUEMONEY", "ALIPAY", "TOUCHNGO",
    ),
    "VIRTUAL_ACCOUNT": (
        "BCA", "BJB", "BNI", "BRI", "MANDIRI", "PERMATA", "BSI", "CIMB", "SAHABAT_SAMPOERNA", "ARTAJASA",
        "PV", "VIETCAPITAL", "WOORI", "MSB", "VPB", "BIDV", "STANDARD_CHARTERED", "AMBANK", "UOB", "BNC",
        "HANA", "MUAMALAT", "BANK_TRANSFER",
    ),
    "OVER_THE_COUNTER": (
        "7ELEVEN", "7ELEVEN_CLIQQ", "CEBUANA", "ECPAY", "PALAWAN", "MLHUILLIER", "ECPAY_DRAGONLOAN", "LBC",
        "ECPAY_SCHOOL", "RD_PAWNSHOP", "CVM", "USSC", "SM_BILLS", "ROBINSONS_BILLS", "ALFAMART", "INDOMARET",
    ),
    "QR_CODE": ("QRIS", "DANA", "RCBC", "LINKAJA", "PROMPTPAY", "XENDIT", "QRPH"),
}  # fmt: skip
_NEEDS_AUTH = ("EWALLET", "DIRECT_DEBIT", "CARD")


def _channel(kind: str, params: Any, moment: datetime) -> dict[str, Any]:
    """The channel object of the response, filled in as Xendit fills it."""
    key = CHANNEL_KEYS[kind]
    if not isinstance(params, dict):
        raise validation_error(f"payment_method.{key} is required for type {kind}")
    props = params.get("channel_properties") or {}
    if not isinstance(props, dict):
        raise validation_error(f"payment_method.{key}.channel_properties must be an object")
    code = params.get("channel_code")
    if kind in CHANNEL_CODES:
        one_of(code, f"payment_method.{key}.channel_code", CHANNEL_CODES[kind])
    elif kind == "DIRECT_DEBIT" and not isinstance(code, str):
        raise validation_error("payment_method.direct_debit.channel_code is required")
    if kind in ("VIRTUAL_ACCOUNT", "OVER_THE_COUNTER") and not props.get("customer_name"):
        raise validation_error(f"payment_method.{key}.channel_properties.customer_name is required")
    if kind == "EWALLET":
        account = {"name": None, "account_details": None, "balance": None, "point_balance": None}
        return {"channel_code": code, "channel_properties": props, "account": account}
    if kind == "VIRTUAL_ACCOUNT":
        number = props.get("virtual_account_number") or "8808" + str(secrets.randbelow(10**10)).zfill(10)
        return {
            "channel_code": code,
            "channel_properties": {**props, "virtual_account_number": number},
            "amount": params.get("amount"),
            "currency": params.get("currency"),
            "min_amount": params.get("min_amount"),
            "max_amount": params.get("max_amount"),
        }
    if kind == "OVER_THE_COUNTER":
        payment_code = props.get("payment_code") or "TEST" + str(secrets.randbelow(10**8)).zfill(8)
        return {
            "channel_code": code,
            "channel_properties": {**props, "payment_code": payment_code},
            "amount": params.get("amount"),
            "currency": params.get("currency"),
        }
    if kind == "QR_CODE":
        qr = props.get("qr_string") or f"00020101021226{secrets.token_hex(16)}5303360"
        return {"channel_code": code, "channel_properties": {**props, "qr_string": qr}}
    if kind == "DIRECT_DEBIT":
        bank_account = {
            "masked_bank_account_number": "XXXXXX1234",
            "bank_account_hash": secrets.token_hex(16),
        }
        return {
            "channel_code": code,
            "channel_properties": props,
            "type": params.get("type") or "BANK_ACCOUNT",
            "bank_account": bank_account,
            "debit_card": None,
        }
    card_information = {
        "token_id": f"{secrets.token_hex(12)}",
        "masked_card_number": "400000XXXXXX1091",
        "cardholder_name": None,
        "expiry_month": "12",
        "expiry_year": str(moment.year + 3),
        "fingerprint": secrets.token_hex(12),
        "type": "CREDIT",
        "network": "VISA",
        "country": "ID",
        "issuer": "BANK",
    }
    return {
        "channel_code": None,
        "channel_properties": props,
        "currency": params.get("currency"),
        "card_information": card_information,
        "card_verification_results": None,
    }


def build_payment_method(
    params: Any,
    *,
    business_id: str,
    moment: datetime,
    currency: str | None = None,
    country: str | None = None,
    customer_id: str | None = None,
) -> Record:
    """A PaymentMethod from its parameters (``/v2/payment_methods`` or a payment request's)."""
    if not isinstance(params, dict):
        raise validation_error("payment_method must be an object")
    kind = one_of(params.get("type"), "payment_method.type", TYPES)
    reusability = one_of(
        params.get("reusability"), "payment_method.reusability", ("MULTIPLE_USE", "ONE_TIME_USE")
    )
    country = params.get("country") or country or COUNTRY_OF.get(currency or "IDR", "ID")
    needs_auth = kind in _NEEDS_AUTH and reusability == "MULTIPLE_USE"
    method_id = f"pm-{uuid.uuid4()}"
    record: Record = {
        "id": method_id,
        "business_id": business_id,
        "type": kind,
        "country": country,
        "customer_id": params.get("customer_id") or customer_id,
        "customer": params.get("customer"),
        "reference_id": optional_str(params, "reference_id") or str(uuid.uuid4()),
        "description": optional_str(params, "description"),
        "status": "REQUIRES_ACTION" if needs_auth else "ACTIVE",
        "reusability": reusability,
        "actions": [],
        "metadata": metadata(params.get("metadata")),
        "billing_information": params.get("billing_information"),
        "failure_code": None,
        "created": iso(moment),
        "updated": iso(moment),
        **dict.fromkeys(CHANNEL_KEYS.values()),
    }
    record[CHANNEL_KEYS[kind]] = _channel(kind, params.get(CHANNEL_KEYS[kind]), moment)
    if needs_auth:
        url = f"https://link-web.xendit.co/oauth/{method_id}/confirm"
        record["actions"] = [{"action": "AUTH", "url": url, "url_type": "WEB", "method": "GET"}]
    return record


def channel_code(method: Record) -> str | None:
    channel = method.get(CHANNEL_KEYS[method["type"]]) or {}
    code = channel.get("channel_code")
    return None if code is None else str(code)


def _activate(sandbox: XenditSandbox, method_id: str, options: DeliveryOptions) -> Record:
    method = sandbox.payment_methods.get(method_id)
    if method["status"] not in ("REQUIRES_ACTION", "PENDING"):
        raise XenditApiError(
            409, "PAYMENT_METHOD_ALREADY_ACTIVE", f"Payment method {method_id} is {method['status']}"
        )
    method = sandbox.payment_methods.update(
        method_id, {"status": "ACTIVE", "actions": [], "updated": iso(now())}
    )
    sandbox.send_event("payment_method", "payment_method.activated", method, options=options)
    return method


def api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/v2/payment_methods", status_code=201)
    async def create(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        method = build_payment_method(body, business_id=sandbox.config.business_id, moment=now())
        sandbox.payment_methods.add(method)
        if method["status"] == "ACTIVE":
            sandbox.send_event("payment_method", "payment_method.activated", method)
        return json_response(method, 201, headers)

    @get("/v2/payment_methods/{method_id:str}")
    async def get_one(request: AnyRequest, method_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(sandbox.payment_methods.get(method_id), headers=headers)

    @get("/v2/payment_methods")
    async def list_all(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        filters = {
            name: query_list(request, name)
            for name in ("id", "type", "status", "reference_id", "customer_id")
        }
        found = sandbox.payment_methods.where(
            lambda pm: all(not wanted or pm.get(name) in wanted for name, wanted in filters.items())
        )
        return json_response(page(request, found), headers=headers)

    @get("/v2/payment_methods/{method_id:str}/payments")
    async def payments(request: AnyRequest, method_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        sandbox.payment_methods.get(method_id)
        found = sandbox.payments.where(lambda py: py["payment_method"]["id"] == method_id)
        return json_response(page(request, found), headers=headers)

    @post("/v2/payment_methods/{method_id:str}/expire", status_code=200)
    async def expire(request: AnyRequest, method_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        if sandbox.payment_methods.get(method_id)["status"] == "EXPIRED":
            raise validation_error(f"Payment method {method_id} is already EXPIRED")
        method = sandbox.payment_methods.update(method_id, {"status": "EXPIRED", "updated": iso(now())})
        sandbox.send_event("payment_method", "payment_method.expired", method)
        return json_response(method, headers=headers)

    return [create, get_one, list_all, payments, expire]


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/_sandbox/payment_methods/{method_id:str}/activate", status_code=200)
    async def activate(request: AnyRequest, method_id: FromPath[str]) -> Response[bytes]:
        options: DeliveryOptions = parse(DeliveryOptions, await read_json(request))
        return json_response(_activate(sandbox, method_id, options))

    return [activate]
