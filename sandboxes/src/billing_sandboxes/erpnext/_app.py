"""The HTTP face of the ERPNext sandbox: Frappe's v1 REST paths, auth, envelopes, and ``/_sandbox/``.

/api/resource/{DocType}                 GET list · POST insert (``docstatus: 1`` submits)
/api/resource/{DocType}/{name}          GET · PUT (``docstatus`` 1 submits, 2 cancels) · DELETE
                                        POST ``{"run_method": "submit" | "cancel"}``
/api/method/frappe.auth.get_logged_user, frappe.client.cancel, frappe.client.submit
(all also under /api/v1/...)
GET /_sandbox/state[?doctype=X]   every document the site holds · POST /_sandbox/reset  back to the seed
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, get, post, route
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.params import FromPath

from billing_sandboxes._faults import ASGIApp, FaultInjector, FaultMiddleware
from billing_sandboxes.erpnext._errors import FrappeError, encode_messages, fault_body, rate_limit_headers
from billing_sandboxes.erpnext._query import parse_json_param
from billing_sandboxes.erpnext._seed import SandboxConfig
from billing_sandboxes.erpnext._store import Store, cint


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)  # Frappe serialises numbers as JSON floats
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def frappe_json(body: Any, status: int = 200) -> Response[bytes]:
    raw = json.dumps(body, default=_json_default).encode()
    return Response(content=raw, status_code=status, media_type="application/json")


def _store(request: Request[Any, Any, Any]) -> Store:
    store: Store = request.app.state["erpnext_store"]
    return store


# ---------------------------------------------------------------------- authentication
def authenticate(request: Request[Any, Any, Any]) -> str | None:
    """The user owning the API key, or ``None`` for Guest (no usable header). F15 ``auth.validate_auth``."""
    config = _store(request).config
    header = request.headers.get("authorization")
    if not header:
        return None
    parts = header.split(" ")
    if len(parts) != 2:
        return None
    scheme, token = parts
    if scheme.lower() == "basic":
        try:
            token = base64.b64decode(token, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise FrappeError(
                "InvalidAuthorizationToken",
                "Failed to decode token, please provide a valid base64-encoded token.",
            ) from None
    elif scheme.lower() != "token":
        raise FrappeError("AuthenticationError", messages=[])  # not a token we know: still Guest → 401
    key, _, secret = token.partition(":")
    key_ok = hmac.compare_digest(key.encode(), config.api_key.encode())
    secret_ok = hmac.compare_digest(secret.encode(), config.api_secret.encode())
    if key_ok and secret_ok:
        return config.user
    raise FrappeError("AuthenticationError", messages=[])


def require_user(request: Request[Any, Any, Any], doctype: str | None = None) -> str:
    user = authenticate(request)
    if user is None:
        message = f"No permission for {doctype}" if doctype else "Not permitted"
        raise FrappeError("PermissionError", messages=[], error_message=message)
    return user


async def read_form(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """F15 ``make_form_dict`` + ``get_request_form_data``: JSON body, or form fields, ``data`` unwrapped."""
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    form: Any
    if "json" in content_type and raw.strip():
        try:
            form = json.loads(raw, parse_float=Decimal)
        except ValueError:
            raise FrappeError("ValidationError", "Invalid JSON body") from None
    else:
        form = {**dict(request.query_params), **dict(parse_qsl(raw.decode(errors="replace")))}
    if isinstance(form, dict) and isinstance(form.get("data"), str):
        form = parse_json_param(form["data"], "data")
    if not isinstance(form, dict):
        raise FrappeError("ValidationError", "Request body must be a JSON object")
    return form


# ---------------------------------------------------------------------- /api/resource
@route(["/api/resource/{doctype:str}", "/api/v1/resource/{doctype:str}"], http_method=["GET", "POST"])
async def resource_collection(request: Request[Any, Any, Any], doctype: FromPath[str]) -> Response[bytes]:
    require_user(request, doctype)
    store = _store(request)
    if request.method == "POST":
        body = await read_form(request)
        body.pop("doctype", None)
        doc, messages = store.insert(doctype, body)
        payload: dict[str, Any] = {"data": doc}
        if messages:
            payload["_server_messages"] = encode_messages(messages)
        return frappe_json(payload)
    params = request.query_params
    fields = parse_json_param(params.get("fields"), "fields") or ["name"]
    if isinstance(fields, str):
        fields = [fields]
    page_length = params.get("limit_page_length", params.get("limit"))
    rows = store.query(
        doctype,
        filters=parse_json_param(params.get("filters"), "filters"),
        fields=[str(field) for field in fields],
        order_by=params.get("order_by"),
        start=cint(params.get("limit_start", 0)),
        page_length=20 if page_length is None else cint(page_length),
    )
    if str(params.get("as_dict", "true")).lower() in ("0", "false"):
        return frappe_json({"data": [list(row.values()) for row in rows]})
    return frappe_json({"data": rows})


@route(
    ["/api/resource/{doctype:str}/{name:path}", "/api/v1/resource/{doctype:str}/{name:path}"],
    http_method=["GET", "PUT", "POST", "DELETE"],
    status_code=200,
)
async def resource_document(
    request: Request[Any, Any, Any], doctype: FromPath[str], name: FromPath[str]
) -> Response[bytes]:
    require_user(request, doctype)
    store = _store(request)
    name = name.lstrip("/")
    if request.method == "GET":
        return frappe_json({"data": store.get(doctype, name)})
    if request.method == "DELETE":
        store.delete(doctype, name)
        return frappe_json({"data": "ok"}, status=202)
    body = await read_form(request)
    if request.method == "PUT":
        body.pop("doctype", None)
        body.pop("name", None)
        return frappe_json({"data": store.update(doctype, name, body)})
    method = body.pop("run_method", None) or request.query_params.get("run_method")
    return frappe_json({"data": run_doc_method(store, doctype, name, str(method))})


def run_doc_method(store: Store, doctype: str, name: str, method: str) -> dict[str, Any]:
    if method == "submit":
        return store.update(doctype, name, {"docstatus": 1})
    if method == "cancel":
        return store.update(doctype, name, {"docstatus": 2})
    raise FrappeError("PermissionError", messages=[], error_message="Not permitted")


# ---------------------------------------------------------------------- /api/method
@route(["/api/method/{method:str}", "/api/v1/method/{method:str}"], http_method=["GET", "POST", "PUT"])
async def api_method(request: Request[Any, Any, Any], method: FromPath[str]) -> Response[bytes]:
    user = require_user(request)
    store = _store(request)
    form = await read_form(request)
    if method == "frappe.auth.get_logged_user":
        return frappe_json({"message": user})
    if method == "frappe.client.cancel":
        cancelled = store.update(str(form.get("doctype")), str(form.get("name")), {"docstatus": 2})
        return frappe_json({"message": cancelled})
    if method == "frappe.client.submit":
        raw_doc = form.get("doc")
        doc: Any = parse_json_param(raw_doc, "doc") if isinstance(raw_doc, str) else raw_doc
        if not isinstance(doc, dict) or not doc.get("name"):
            raise FrappeError("ValidationError", "doc must be a document with its name")
        # Rebuilt from the caller's dict, so a missing or stale ``modified`` fails (ref §5 trap).
        changes = {**doc, "docstatus": 1, "modified": doc.get("modified", "")}
        return frappe_json({"message": store.update(str(doc.get("doctype")), str(doc["name"]), changes)})
    raise FrappeError(
        "ValidationError",
        f"Failed to get method for command {method} with No module named '{method.rsplit('.', 1)[0]}'",
    )


# ---------------------------------------------------------------------- /_sandbox
@get("/_sandbox/state")
async def sandbox_state(request: Request[Any, Any, Any]) -> Response[bytes]:
    doctype = request.query_params.get("doctype")
    return frappe_json({"documents": _store(request).snapshot(doctype)})


@post("/_sandbox/reset", status_code=200)
async def sandbox_reset(request: Request[Any, Any, Any]) -> Response[bytes]:
    _store(request).reset()
    return frappe_json({"reset": True})


# ---------------------------------------------------------------------- errors
def _frappe_error(_request: Request[Any, Any, Any], exc: FrappeError) -> Response[bytes]:
    return frappe_json(exc.envelope(), status=exc.status)


def _not_found(request: Request[Any, Any, Any], _exc: Exception) -> Response[bytes]:
    if request.url.path.startswith("/api/"):
        return frappe_json(FrappeError("DoesNotExistError", messages=[]).envelope(), status=404)
    return frappe_json({"error": "not found"}, status=404)


def _method_not_allowed(_request: Request[Any, Any, Any], _exc: Exception) -> Response[bytes]:
    denied = FrappeError("PermissionError", messages=[], error_message="Not permitted")
    return frappe_json(denied.envelope(), status=403)


def create_app(**overrides: Any) -> FaultMiddleware:
    """The sandbox as an ASGI app, configured from ``ERPNEXT_SANDBOX_*`` (keyword arguments win)."""
    store = Store(SandboxConfig.from_env(**overrides))
    app = Litestar(
        route_handlers=[resource_collection, resource_document, api_method, sandbox_state, sandbox_reset],
        exception_handlers={
            FrappeError: _frappe_error,
            NotFoundException: _not_found,
            MethodNotAllowedException: _method_not_allowed,
        },
        state=None,
        debug=False,
    )
    app.state["erpnext_store"] = store
    return FaultMiddleware(cast("ASGIApp", app), FaultInjector(), fault_body, rate_limit_headers)
