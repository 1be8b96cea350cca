"""The ChartMogul sandbox's HTTP layer: ChartMogul's paths, Basic auth, and the ``/_sandbox/`` door.

GET  /_sandbox/state   every data source, customer, plan, invoice and subscription, plus limits
POST /_sandbox/reset   back to the seeded data source only (faults are cleared too)
*    /_sandbox/faults  fault injection (``billing_sandboxes._faults``)
"""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import UTC, datetime
from typing import Any, cast

from litestar import Litestar, Request, Response, get, patch, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from billing_sandboxes._faults import ASGIApp, FaultInjector, FaultMiddleware
from billing_sandboxes.chartmogul import _bodies as b
from billing_sandboxes.chartmogul._config import SandboxConfig
from billing_sandboxes.chartmogul._limits import LimitsMiddleware
from billing_sandboxes.chartmogul._store import ApiError, Store

AnyRequest = Request[Any, Any, Any]


def _authorized(header: str | None, api_key: str) -> bool:
    """Basic auth, API key as user name; the password may be empty or the key again (ChartMogul's docs)."""
    if not header or not header.startswith("Basic "):
        return False
    try:
        user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    key_ok = hmac.compare_digest(user.encode(), api_key.encode())
    password_ok = password == "" or hmac.compare_digest(password.encode(), api_key.encode())
    return key_ok and password_ok


def _store(request: AnyRequest) -> Store:
    store: Store = request.app.state["store"]
    return store


def _json(body: Any, status: int = 200) -> Response[Any]:
    return Response(content=body, status_code=status, media_type="application/json")


async def _body(request: AnyRequest) -> dict[str, Any]:
    try:
        body = await request.json()
    except Exception:
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, {"code": 400, "message": "The request body is not valid JSON", "param": None})
    return body


def _query(request: AnyRequest) -> dict[str, str]:
    return {key: str(value) for key, value in request.query_params.items()}


# --- ChartMogul's API ------------------------------------------------------------------------------


@get("/v1/ping")
async def ping() -> Response[Any]:
    return _json({"data": "pong!"})


@post("/v1/data_sources")
async def create_data_source(request: AnyRequest) -> Response[Any]:
    return _json(_store(request).create_data_source(await _body(request)), 201)


@get("/v1/data_sources")
async def list_data_sources(request: AnyRequest) -> Response[Any]:
    query = _query(request)
    return _json({"data_sources": _store(request).list_data_sources(query.get("name"), query.get("system"))})


@get("/v1/data_sources/{ds_uuid:str}")
async def get_data_source(request: AnyRequest, ds_uuid: FromPath[str]) -> Response[Any]:
    return _json(_store(request).data_source(ds_uuid))


@post("/v1/customers")
async def create_customer(request: AnyRequest) -> Response[Any]:
    return _json(_store(request).create_customer(await _body(request)), 201)


@get("/v1/customers")
async def list_customers(request: AnyRequest) -> Response[Any]:
    query = _query(request)
    return _json(b.paginated("entries", _store(request).list_customers(query), query))


@get("/v1/customers/{cus_uuid:str}")
async def get_customer(request: AnyRequest, cus_uuid: FromPath[str]) -> Response[Any]:
    return _json(_store(request).customer(cus_uuid))


@patch("/v1/customers/{cus_uuid:str}")
async def update_customer(request: AnyRequest, cus_uuid: FromPath[str]) -> Response[Any]:
    return _json(_store(request).update_customer(cus_uuid, await _body(request)))


@post("/v1/plans")
async def create_plan(request: AnyRequest) -> Response[Any]:
    return _json(_store(request).create_plan(await _body(request)), 201)


@get("/v1/plans")
async def list_plans(request: AnyRequest) -> Response[Any]:
    query = _query(request)
    return _json(b.paginated("plans", _store(request).list_plans(query), query))


@get("/v1/plans/{plan_uuid:str}")
async def get_plan(request: AnyRequest, plan_uuid: FromPath[str]) -> Response[Any]:
    return _json(_store(request).plan(plan_uuid))


@post("/v1/import/customers/{cus_uuid:str}/invoices")
async def import_invoices(request: AnyRequest, cus_uuid: FromPath[str]) -> Response[Any]:
    return _json(_store(request).import_invoices(cus_uuid, await _body(request)), 201)


@get("/v1/import/customers/{cus_uuid:str}/invoices")
async def list_customer_invoices(request: AnyRequest, cus_uuid: FromPath[str]) -> Response[Any]:
    query = _query(request)
    page = b.paginated("invoices", _store(request).customer_invoices(cus_uuid), query)
    return _json({"customer_uuid": cus_uuid, **page})


@get("/v1/invoices")
async def list_invoices(request: AnyRequest) -> Response[Any]:
    query = _query(request)
    return _json(b.paginated("invoices", _store(request).list_invoices(query), query))


@get("/v1/invoices/{inv_uuid:str}")
async def get_invoice(request: AnyRequest, inv_uuid: FromPath[str]) -> Response[Any]:
    return _json(_store(request).invoice(inv_uuid))


@post("/v1/import/invoices/{inv_uuid:str}/transactions")
async def add_transaction(request: AnyRequest, inv_uuid: FromPath[str]) -> Response[Any]:
    return _json(_store(request).add_transaction(inv_uuid, await _body(request)), 201)


@get("/v1/import/customers/{cus_uuid:str}/subscriptions")
async def list_subscriptions(request: AnyRequest, cus_uuid: FromPath[str]) -> Response[Any]:
    query = _query(request)
    page = b.paginated("subscriptions", _store(request).customer_subscriptions(cus_uuid), query)
    return _json({"customer_uuid": cus_uuid, **page})


@patch("/v1/import/subscriptions/{sub_uuid:str}")
async def cancel_subscription(request: AnyRequest, sub_uuid: FromPath[str]) -> Response[Any]:
    body = await _body(request)
    return _json(_store(request).update_cancellation(sub_uuid, body, datetime.now(UTC)), 202)


# --- the side door ---------------------------------------------------------------------------------


@get("/_sandbox/state")
async def sandbox_state(request: AnyRequest) -> Response[Any]:
    limits: LimitsMiddleware = request.app.state["limits"]
    return _json({**_store(request).state(), "limits": limits.snapshot()})


@post("/_sandbox/reset", status_code=200)
async def sandbox_reset(request: AnyRequest) -> Response[Any]:
    _store(request).reset()
    request.app.state["faults"].clear()
    request.app.state["limits"].reset()
    return _json({"reset": True})


# --- cross-cutting -------------------------------------------------------------------------------


def _api_error(_request: AnyRequest, exc: ApiError) -> Response[Any]:
    return _json(exc.body, exc.status)


def _http_error(_request: AnyRequest, exc: HTTPException) -> Response[Any]:
    if exc.status_code == 404:
        return _json({"error": "Not found"}, 404)
    return _json({"code": exc.status_code, "message": exc.detail, "param": None}, exc.status_code)


def _auth_hook(config: SandboxConfig) -> Any:
    async def before_request(request: AnyRequest) -> Response[Any] | None:
        if request.url.path.startswith("/_sandbox/"):
            return None
        if not _authorized(request.headers.get("authorization"), config.api_key):
            return _json(dict(b.UNAUTHORIZED), 401)
        return None

    return before_request


def build_app(config: SandboxConfig) -> FaultMiddleware | LimitsMiddleware:
    store = Store(config.data_source_uuid, config.data_source_name)
    injector = FaultInjector()
    app = Litestar(
        route_handlers=[
            ping,
            create_data_source,
            list_data_sources,
            get_data_source,
            create_customer,
            list_customers,
            get_customer,
            update_customer,
            create_plan,
            list_plans,
            get_plan,
            import_invoices,
            list_customer_invoices,
            list_invoices,
            get_invoice,
            add_transaction,
            list_subscriptions,
            cancel_subscription,
            sandbox_state,
            sandbox_reset,
        ],
        before_request=_auth_hook(config),
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
        openapi_config=None,
    )
    faulted = FaultMiddleware(cast(ASGIApp, app), injector, b.error_body_for, b.rate_limit_headers)
    # Limits outermost, so an injected latency holds a "connection" open the way a slow API does.
    limits = LimitsMiddleware(
        faulted, per_second=config.rate_limit_per_second, max_parallel=config.max_parallel
    )
    app.state["store"], app.state["faults"], app.state["limits"] = store, injector, limits
    return limits
