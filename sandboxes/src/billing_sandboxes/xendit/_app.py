"""The Xendit sandbox as a Litestar app: each product's routes and side door, wired together."""

from __future__ import annotations

from typing import Any, cast

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException

from billing_sandboxes._faults import ASGIApp, FaultMiddleware
from billing_sandboxes.xendit import (
    _ewallets,
    _fva,
    _invoice_api,
    _payment_methods,
    _payment_requests,
    _recurring,
    _refunds,
    _side_door,
)
from billing_sandboxes.xendit._config import XenditSandboxConfig
from billing_sandboxes.xendit._core import XenditSandbox
from billing_sandboxes.xendit._errors import XenditApiError, error_body
from billing_sandboxes.xendit._http import json_response
from billing_sandboxes.xendit._ratelimit import injected_headers

_PRODUCTS = (_invoice_api, _fva, _payment_methods, _payment_requests, _ewallets, _recurring, _refunds)


def _on_api_error(_request: Request[Any, Any, Any], exc: XenditApiError) -> Response[bytes]:
    return json_response(exc.body(), exc.status, exc.headers)


def _on_http_error(_request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    body, headers = error_body(exc.status_code)
    return json_response({**body, "message": exc.detail}, exc.status_code, headers)


def create_app(**overrides: Any) -> ASGIApp:
    """The sandbox, configured from ``XENDIT_SANDBOX_*`` then ``overrides`` (see ``XenditSandboxConfig``)."""
    sandbox = XenditSandbox(XenditSandboxConfig.from_env(**overrides))
    handlers = [
        h for module in _PRODUCTS for h in (*module.api_routes(sandbox), *module.side_door_routes(sandbox))
    ]
    app = Litestar(
        route_handlers=[*handlers, *_side_door.side_door_routes(sandbox)],
        exception_handlers={XenditApiError: _on_api_error, HTTPException: _on_http_error},
        on_shutdown=[sandbox.close],
        openapi_config=None,
    )
    app.state.sandbox = sandbox
    asgi: ASGIApp = cast(ASGIApp, app)  # Litestar's ASGI signature is a narrower spelling of the same
    limited = injected_headers(lambda: sandbox.config.rate_limit)
    return FaultMiddleware(asgi, sandbox.faults, error_body, limited)
