"""The Xendit sandbox as a Litestar app: Xendit's invoice API plus the ``/_sandbox/`` side door."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

import msgspec
from litestar import Litestar, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from billing_sandboxes._faults import ASGIApp, FaultInjector, FaultMiddleware
from billing_sandboxes.xendit._callbacks import CallbackSender, Order
from billing_sandboxes.xendit._channels import payment_fields
from billing_sandboxes.xendit._clock import iso, now
from billing_sandboxes.xendit._config import XenditSandboxConfig
from billing_sandboxes.xendit._errors import XenditApiError, error_body, validation_error
from billing_sandboxes.xendit._invoices import STATUSES, InvoiceStore, build_invoice
from billing_sandboxes.xendit._ratelimit import RateLimiter, injected_headers

_JSON = msgspec.json.Encoder(decimal_format="number")


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(_JSON.encode(content), status_code=status, media_type="application/json", headers=headers)


async def _read_json(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw, parse_float=Decimal)  # money is never a float
    except ValueError:
        raise validation_error("request body is not valid JSON") from None


class Delivery(BaseModel):
    """How the callbacks an action sends are delivered (defaults: the sandbox's config)."""

    model_config = ConfigDict(extra="forbid")
    duplicates: int | None = Field(default=None, ge=0, le=20, description="extra copies")
    shuffle: bool | None = Field(default=None, description="random delay before each first attempt")
    hold: bool = Field(default=False, description="keep in the outbox until /_sandbox/callbacks/release")


class Pay(Delivery):
    channel: str = Field(description="BCA, MANDIRI, BNI, BRI, PERMATA, BSI, QRIS, OVO, DANA, ...")
    method: str | None = Field(default=None, description="payment_method override")
    amount: Decimal | None = Field(default=None, description="paid amount (default: the invoice amount)")
    fee: Decimal | None = Field(default=None, description="Xendit's fee: sets adjusted_received_amount")
    paid_at: datetime | None = None
    after_expiry: bool = Field(default=False, description="allow paying an EXPIRED invoice")


class Settle(Delivery):
    notify: bool = Field(default=False, description="send a SETTLED callback (Xendit documents none)")


class Release(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order: Order = "fifo"


class ConfigChange(BaseModel):
    """What may change at run time through ``POST /_sandbox/config``."""

    model_config = ConfigDict(extra="forbid")
    callback_url: str | None = None
    callback_token: str | None = None
    duplicates: int | None = Field(default=None, ge=0, le=20)
    shuffle: bool | None = None
    time_scale: float | None = Field(default=None, gt=0)
    callback_timeout_seconds: float | None = Field(default=None, gt=0)
    rate_limit: int | None = Field(default=None, ge=1)
    rate_limit_window_seconds: float | None = Field(default=None, gt=0)


def _parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc.errors(include_url=False, include_context=False).__repr__()) from None


class XenditSandbox:
    """State of one sandbox: its config, invoices, callbacks, rate limits and faults."""

    def __init__(self, config: XenditSandboxConfig) -> None:
        self.config = config
        self.invoices = InvoiceStore()
        self.callbacks = CallbackSender(config)
        self.limiter = RateLimiter(config.rate_limit, config.rate_limit_window_seconds)
        self.faults = FaultInjector()

    def authorize(self, request: Request[Any, Any, Any], endpoint: str) -> dict[str, str]:
        """Basic auth with the secret key as username (empty password); then the rate limit."""
        header = request.headers.get("authorization", "")
        scheme, _, encoded = header.partition(" ")
        username = ""
        if scheme.lower() == "basic":
            try:
                username = base64.b64decode(encoded, validate=True).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                username = ""
        if not username or not hmac.compare_digest(username.encode(), self.config.secret_key.encode()):
            raise XenditApiError(401, "INVALID_API_KEY", "API key format is invalid.")
        return self.limiter.hit(endpoint, username)

    def reconfigure(self, change: ConfigChange) -> None:
        updates = change.model_dump(exclude_unset=True)
        self.config = self.config.model_copy(update=updates)
        self.callbacks.config = self.config
        if {"rate_limit", "rate_limit_window_seconds"} & updates.keys():
            self.limiter.configure(self.config.rate_limit, self.config.rate_limit_window_seconds)

    def reset(self) -> None:
        self.invoices.clear()
        self.callbacks.clear()
        self.limiter.clear()
        self.faults.clear()

    def expire(self, invoice_id: str) -> dict[str, Any]:
        moment = iso(now())
        changes = {"status": "EXPIRED", "expiry_date": moment, "updated": moment}
        return self.invoices.update(invoice_id, changes, allowed=("PENDING",))

    def state(self) -> dict[str, Any]:
        public = self.config.model_dump(exclude={"secret_key", "callback_token"})
        return {"invoices": self.invoices.all(), "callbacks": len(self.callbacks.log()), "config": public}


def _emit(sandbox: XenditSandbox, invoice: dict[str, Any], order: Delivery) -> list[Any]:
    callbacks = sandbox.callbacks
    return callbacks.emit(invoice, duplicates=order.duplicates, shuffle=order.shuffle, hold=order.hold)


def _api_routes(sandbox: XenditSandbox) -> list[Any]:
    @post("/v2/invoices", status_code=200)
    async def create_invoice(request: Request[Any, Any, Any]) -> Response[bytes]:
        headers = sandbox.authorize(request, "POST /v2/invoices")
        body = await _read_json(request)
        if not isinstance(body, dict):
            raise validation_error("request body must be a JSON object")
        invoice = sandbox.invoices.add(build_invoice(body, sandbox.config, now()))
        return _json(invoice, headers=headers)

    @get("/v2/invoices/{invoice_id:str}")
    async def get_invoice(request: Request[Any, Any, Any], invoice_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request, "GET /v2/invoices/{id}")
        return _json(sandbox.invoices.get(invoice_id), headers=headers)

    @get("/v2/invoices")
    async def list_invoices(request: Request[Any, Any, Any]) -> Response[bytes]:
        headers = sandbox.authorize(request, "GET /v2/invoices")
        query = request.query_params
        statuses = [s.strip() for raw in query.getall("statuses", []) for s in raw.split(",") if s.strip()]
        if unknown := [s for s in statuses if s not in STATUSES]:
            raise validation_error(f"statuses must be among {', '.join(STATUSES)}; got {', '.join(unknown)}")
        try:
            limit = int(query.get("limit", 10))
        except ValueError:
            raise validation_error("limit must be an integer") from None
        if not 1 <= limit <= 100:
            raise validation_error("limit must be between 1 and 100")
        found = sandbox.invoices.search(
            external_id=query.get("external_id"),
            statuses=statuses,
            limit=limit,
            last_invoice=query.get("last_invoice"),
        )
        return _json(found, headers=headers)

    @post("/invoices/{invoice_id:str}/expire!", status_code=200)
    async def expire_invoice(request: Request[Any, Any, Any], invoice_id: FromPath[str]) -> Response[bytes]:
        headers = sandbox.authorize(request, "POST /invoices/{id}/expire!")
        current = sandbox.invoices.get(invoice_id)
        if current["status"] == "EXPIRED":  # already expired: the invoice as it is, no new callback
            return _json(current, headers=headers)
        invoice = sandbox.expire(invoice_id)
        sandbox.callbacks.emit(invoice)
        return _json(invoice, headers=headers)

    return [create_invoice, get_invoice, list_invoices, expire_invoice]


def _sandbox_routes(sandbox: XenditSandbox) -> list[Any]:
    @get("/_sandbox/state")
    async def state() -> Response[bytes]:
        return _json(sandbox.state())

    @post("/_sandbox/reset", status_code=200)
    async def reset() -> Response[bytes]:
        sandbox.reset()
        return _json({"reset": True})

    @post("/_sandbox/config", status_code=200)
    async def configure(request: Request[Any, Any, Any]) -> Response[bytes]:
        sandbox.reconfigure(_parse(ConfigChange, await _read_json(request)))
        return _json(sandbox.state()["config"])

    @post("/_sandbox/invoices/{invoice_id:str}/pay", status_code=200)
    async def pay(request: Request[Any, Any, Any], invoice_id: FromPath[str]) -> Response[bytes]:
        order: Pay = _parse(Pay, await _read_json(request))
        current = sandbox.invoices.get(invoice_id)
        amount = current["amount"] if order.amount is None else order.amount
        paid_at = order.paid_at or now()
        fields = payment_fields(order.channel, amount, paid_at, method=order.method, fee=order.fee)
        allowed = ("PENDING", "EXPIRED") if order.after_expiry else ("PENDING",)
        invoice = sandbox.invoices.update(invoice_id, {**fields, "status": "PAID"}, allowed=allowed)
        sent = _emit(sandbox, invoice, order)
        return _json({"invoice": invoice, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/invoices/{invoice_id:str}/expire", status_code=200)
    async def expire(request: Request[Any, Any, Any], invoice_id: FromPath[str]) -> Response[bytes]:
        order: Delivery = _parse(Delivery, await _read_json(request))
        invoice = sandbox.expire(invoice_id)
        sent = _emit(sandbox, invoice, order)
        return _json({"invoice": invoice, "callbacks": [d.id for d in sent]})

    @post("/_sandbox/invoices/{invoice_id:str}/settle", status_code=200)
    async def settle(request: Request[Any, Any, Any], invoice_id: FromPath[str]) -> Response[bytes]:
        order: Settle = _parse(Settle, await _read_json(request))
        changes = {"status": "SETTLED", "updated": iso(now())}
        invoice = sandbox.invoices.update(invoice_id, changes, allowed=("PAID",))
        sent = []
        if order.notify:
            sent = _emit(sandbox, invoice, order)
        return _json({"invoice": invoice, "callbacks": [d.id for d in sent]})

    @get("/_sandbox/callbacks")
    async def callbacks(request: Request[Any, Any, Any]) -> Response[bytes]:
        return _json(sandbox.callbacks.log(request.query_params.get("invoice_id")))

    @post("/_sandbox/callbacks/{delivery_id:str}/resend", status_code=200)
    async def resend(delivery_id: FromPath[str]) -> Response[bytes]:
        delivery = sandbox.callbacks.resend(delivery_id)
        if delivery is None:
            raise XenditApiError(404, "DATA_NOT_FOUND", f"callback delivery {delivery_id} not found")
        return _json(delivery.as_json())

    @post("/_sandbox/callbacks/release", status_code=200)
    async def release(request: Request[Any, Any, Any]) -> Response[bytes]:
        order: Release = _parse(Release, await _read_json(request))
        return _json([d.id for d in sandbox.callbacks.release(order.order)])

    return [state, reset, configure, pay, expire, settle, callbacks, resend, release]


def _on_api_error(_request: Request[Any, Any, Any], exc: XenditApiError) -> Response[bytes]:
    return _json(exc.body(), exc.status, exc.headers)


def _on_http_error(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    body, headers = error_body(exc.status_code)
    return _json({**body, "message": exc.detail}, exc.status_code, headers)


def create_app(**overrides: Any) -> ASGIApp:
    """The sandbox, configured from ``XENDIT_SANDBOX_*`` then ``overrides`` (see ``XenditSandboxConfig``)."""
    sandbox = XenditSandbox(XenditSandboxConfig.from_env(**overrides))
    app = Litestar(
        route_handlers=[*_api_routes(sandbox), *_sandbox_routes(sandbox)],
        exception_handlers={XenditApiError: _on_api_error, HTTPException: _on_http_error},
        on_shutdown=[sandbox.callbacks.close],
        openapi_config=None,
    )
    app.state.sandbox = sandbox
    asgi: ASGIApp = cast(ASGIApp, app)  # Litestar's ASGI signature is a narrower spelling of the same
    limited = injected_headers(lambda: sandbox.config.rate_limit)
    return FaultMiddleware(asgi, sandbox.faults, error_body, limited)
