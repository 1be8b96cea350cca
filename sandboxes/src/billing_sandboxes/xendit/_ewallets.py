"""E-wallet charges (``/ewallets/charges``, GO1 ``EWalletCharge``) and the ``ewallet.capture`` webhook.

A charge is created PENDING (202, with checkout ``actions``); the customer's side is the side
door: ``/_sandbox/ewallets/charges/{id}/complete`` (SUCCEEDED) or ``/fail`` (FAILED), each sending
``ewallet.capture`` with the charge as ``data`` to ``<base>/ewallet``. ``ID_`` channels take IDR,
``PH_`` channels PHP (else 400 ``UNSUPPORTED_CURRENCY``).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Response, get, post
from litestar.params import FromPath

from billing_sandboxes.xendit._callbacks import DEFAULT_OPTIONS, Delivery, DeliveryOptions
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._config import XenditSandboxConfig
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError, validation_error
from billing_sandboxes.xendit._http import AnyRequest, json_response, parse, read_json
from billing_sandboxes.xendit._payment_requests import Failure
from billing_sandboxes.xendit._store import Record
from billing_sandboxes.xendit._validate import (
    amount,
    body_object,
    metadata,
    one_of,
    optional_str,
    required_str,
)

#: Channel code → the currency it charges in.
CHANNELS: dict[str, str] = {
    **dict.fromkeys(
        ("ID_OVO", "ID_DANA", "ID_LINKAJA", "ID_SHOPEEPAY", "ID_ASTRAPAY", "ID_JENIUSPAY", "ID_SAKUKU"), "IDR"
    ),
    **dict.fromkeys(("PH_GCASH", "PH_PAYMAYA", "PH_GRABPAY", "PH_SHOPEEPAY"), "PHP"),
}
CHECKOUT_METHODS = ("ONE_TIME_PAYMENT", "TOKENIZED_PAYMENT")


def _actions(charge_id: str, channel: str) -> dict[str, str | None]:
    if channel == "ID_OVO":  # OVO pushes a notification to the customer's app: nothing to open
        return dict.fromkeys(
            (
                "desktop_web_checkout_url",
                "mobile_web_checkout_url",
                "mobile_deeplink_checkout_url",
                "qr_checkout_string",
            )
        )
    url = f"https://ewallet-mock-connector.xendit.co/v1/ewallet_connector/checkouts?token={charge_id}"
    deeplink = f"{channel.split('_', 1)[1].lower()}://checkout?token={charge_id}"
    return {
        "desktop_web_checkout_url": url,
        "mobile_web_checkout_url": url,
        "mobile_deeplink_checkout_url": deeplink if channel in ("ID_SHOPEEPAY", "PH_SHOPEEPAY") else None,
        "qr_checkout_string": f"test-qr-string-{charge_id}" if channel == "ID_SHOPEEPAY" else None,
    }


def build_charge(body: dict[str, Any], config: XenditSandboxConfig) -> Record:
    reference_id = required_str(body, "reference_id")
    channel = one_of(body.get("channel_code"), "channel_code", CHANNELS)
    currency = required_str(body, "currency")
    if currency != CHANNELS[channel]:
        raise XenditApiError(
            400, "UNSUPPORTED_CURRENCY", f"{channel} charges in {CHANNELS[channel]}, not {currency}"
        )
    charge_amount = amount(body.get("amount"))
    checkout_method = one_of(body.get("checkout_method"), "checkout_method", CHECKOUT_METHODS)
    props = body.get("channel_properties") or {}
    if not isinstance(props, dict):
        raise validation_error("channel_properties must be an object")
    if checkout_method == "TOKENIZED_PAYMENT" and not optional_str(body, "payment_method_id"):
        raise validation_error("payment_method_id is required for TOKENIZED_PAYMENT")
    if channel == "ID_OVO" and checkout_method == "ONE_TIME_PAYMENT" and not props.get("mobile_number"):
        raise validation_error("channel_properties.mobile_number is required for ID_OVO")
    if channel != "ID_OVO" and not props.get("success_redirect_url"):
        raise validation_error(f"channel_properties.success_redirect_url is required for {channel}")
    if channel.startswith("PH_") and not props.get("failure_redirect_url"):
        raise validation_error(f"channel_properties.failure_redirect_url is required for {channel}")
    charge_id = f"ewc_{uuid.uuid4()}"
    moment = iso(now())
    return {
        "id": charge_id,
        "business_id": config.business_id,
        "reference_id": reference_id,
        "status": "PENDING",
        "currency": currency,
        "charge_amount": charge_amount,
        "capture_amount": charge_amount,
        "refunded_amount": None,
        "checkout_method": checkout_method,
        "channel_code": channel,
        "channel_properties": props,
        "actions": _actions(charge_id, channel),
        "is_redirect_required": channel != "ID_OVO",
        "callback_url": config.url_for("ewallet"),
        "created": moment,
        "updated": moment,
        "void_status": None,
        "voided_at": None,
        "capture_now": True,
        "customer_id": optional_str(body, "customer_id"),
        "payment_method_id": optional_str(body, "payment_method_id"),
        "failure_code": None,
        "basket": body.get("basket"),
        "metadata": metadata(body.get("metadata")),
    }


def finish(
    sandbox: XenditSandbox,
    charge_id: str,
    *,
    failure_code: str | None = None,
    options: DeliveryOptions = DEFAULT_OPTIONS,
) -> tuple[Record, list[Delivery]]:
    """PENDING → SUCCEEDED (or FAILED with ``failure_code``) and the ``ewallet.capture`` webhook."""
    charge = sandbox.ewallet_charges.get(charge_id)
    if charge["status"] != "PENDING":
        raise XenditApiError(
            400, "INVALID_STATUS", f"E-wallet charge {charge_id} is {charge['status']}, not PENDING"
        )
    status = "FAILED" if failure_code else "SUCCEEDED"
    changes = {"status": status, "failure_code": failure_code, "updated": iso(now())}
    charge = sandbox.ewallet_charges.update(charge_id, changes)
    return charge, sandbox.send_event("ewallet", "ewallet.capture", charge, options=options)


def api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/ewallets/charges", status_code=202)
    async def create(request: AnyRequest) -> Response[bytes]:
        headers = sandbox.authorize(request)
        body = body_object(await read_json(request))
        charge = sandbox.ewallet_charges.add(build_charge(body, sandbox.config))
        return json_response(charge, 202, headers)

    @get("/ewallets/charges/{charge_id:str}")
    async def get_one(request: AnyRequest, charge_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request)
        return json_response(sandbox.ewallet_charges.get(charge_id), headers=headers)

    return [create, get_one]


def side_door_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/_sandbox/ewallets/charges/{charge_id:str}/complete", status_code=200)
    async def complete(request: AnyRequest, charge_id: FromPath[str]) -> Response[bytes]:
        options: DeliveryOptions = parse(DeliveryOptions, await read_json(request))
        charge, sent = finish(sandbox, charge_id, options=options)
        return json_response({"charge": charge, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/ewallets/charges/{charge_id:str}/fail", status_code=200)
    async def fail(request: AnyRequest, charge_id: FromPath[str]) -> Response[bytes]:
        order: Failure = parse(Failure, await read_json(request))
        charge, sent = finish(sandbox, charge_id, failure_code=order.failure_code, options=order)
        return json_response({"charge": charge, "callbacks": [d.id for d in sent]})

    return [complete, fail]
