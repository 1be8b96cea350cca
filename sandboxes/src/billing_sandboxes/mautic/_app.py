"""The Litestar app: Mautic's OAuth token endpoint, the contact and segment API, and ``/_sandbox/``."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from litestar import Litestar, Request, Response, Router, delete, get, patch, post, put
from litestar.params import FromPath

from billing_sandboxes._faults import ASGIApp, FaultInjector, FaultMiddleware
from billing_sandboxes.mautic import _errors as err
from billing_sandboxes.mautic._auth import check_api_access, check_client
from billing_sandboxes.mautic._config import MauticSandboxConfig
from billing_sandboxes.mautic._query import decode_body, php_params, search_predicate, where_predicate
from billing_sandboxes.mautic._serialize import contact_json, segment_json
from billing_sandboxes.mautic._store import Contact, MauticState, overwrite_flag

AnyResponse = Response[Any]


def _state(request: Request[Any, Any, Any]) -> MauticState:
    state: MauticState = request.app.state.mautic
    return state


async def _payload(request: Request[Any, Any, Any]) -> dict[str, Any] | None:
    return decode_body(await request.body(), request.headers.get("content-type", ""))


def _query(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return php_params(parse_qsl(request.url.query, keep_blank_values=True))


async def _authorize(request: Request[Any, Any, Any]) -> AnyResponse | None:
    state = _state(request)
    with state.lock:
        denied, kind = check_api_access(state, request.headers.get("authorization"))
        status = denied.status_code if denied else None
        seen = {"method": request.method, "path": request.url.path, "auth": kind, "denied": status}
        state.requests.append(seen)
    return denied


# --- OAuth2 ---------------------------------------------------------------------------------


@post("/oauth/v2/token", status_code=200)
async def token(request: Request[Any, Any, Any]) -> AnyResponse:
    form = await _payload(request) or {}
    state = _state(request)
    with state.lock:
        denied = check_client(state, form)
        if denied:
            return denied
        access_token, lifetime = state.issue_token(str(form["client_id"]))
    body = {"access_token": access_token, "expires_in": lifetime, "token_type": "bearer", "scope": ""}
    return Response(body, headers={"Cache-Control": "no-store"})


# --- contacts -------------------------------------------------------------------------------


def _one(state: MauticState, contact: Contact, status: int = 200, **headers: str) -> AnyResponse:
    return Response({"contact": contact_json(state, contact)}, status_code=status, headers=headers)


@get("/contacts")
async def list_contacts(request: Request[Any, Any, Any]) -> AnyResponse:
    query = _query(request)
    state = _state(request)
    tests = []
    if query.get("search"):
        tests.append(search_predicate(str(query["search"])))
    where = query.get("where") or {}
    for clause in where.values() if isinstance(where, dict) else where:
        test = where_predicate(clause if isinstance(clause, dict) else {})
        if isinstance(test, str):
            return err.controller_error(400, test)
        tests.append(test)
    with state.lock:
        rows = [c for c in state.contacts.values() if all(test({**c.values, "id": c.id}) for test in tests)]
        order = str(query.get("orderBy") or "id")
        rows.sort(
            key=lambda c: (str(c.values.get(order) or "") if order != "id" else "", c.id),
            reverse=str(query.get("orderByDir", "ASC")).upper() == "DESC",
        )
        start = int(query.get("start") or 0)
        limit = int(query.get("limit") or state.config.page_limit)
        page = rows[start : start + limit]
        contacts = {str(c.id): contact_json(state, c) for c in page}
    return Response({"total": str(len(rows)), "contacts": contacts})


@post("/contacts/new", status_code=201)
async def new_contact(request: Request[Any, Any, Any]) -> AnyResponse:
    payload = await _payload(request)
    if payload is None:
        return err.controller_error(400, err.BAD_REQUEST)
    state = _state(request)
    with state.lock:
        violations = state.violations(payload)
        if violations:
            return err.validation_error(violations)
        overwrite = overwrite_flag(payload)
        existing = state.find_duplicate(payload)
        if existing is not None:
            state.apply(existing, payload, overwrite_with_blank=overwrite)
            return _one(state, existing, 200)
        contact = state.create(payload, overwrite_with_blank=overwrite)
        return _one(state, contact, 201, Location=f"/api/contacts/{contact.id}")


@get("/contacts/{contact_id:int}")
async def get_contact(request: Request[Any, Any, Any], contact_id: FromPath[int]) -> AnyResponse:
    state = _state(request)
    with state.lock:
        contact = state.contacts.get(contact_id)
        return _one(state, contact) if contact else err.controller_error(404, err.NOT_FOUND)


@patch("/contacts/{contact_id:int}/edit")
async def patch_contact(request: Request[Any, Any, Any], contact_id: FromPath[int]) -> AnyResponse:
    payload = await _payload(request)
    if payload is None:
        return err.controller_error(400, err.BAD_REQUEST)
    state = _state(request)
    with state.lock:
        contact = state.contacts.get(contact_id)
        if contact is None:
            return err.controller_error(404, err.NOT_FOUND)
        violations = state.violations(payload)
        if violations:
            return err.validation_error(violations)
        state.apply(contact, payload, overwrite_with_blank=overwrite_flag(payload))
        return _one(state, contact)


@put("/contacts/{contact_id:int}/edit")
async def put_contact(request: Request[Any, Any, Any], contact_id: FromPath[int]) -> AnyResponse:
    """Full replace; creates a new contact (with a new id) when ``contact_id`` does not exist."""
    payload = await _payload(request)
    if payload is None:
        return err.controller_error(400, err.BAD_REQUEST)
    state = _state(request)
    with state.lock:
        violations = state.violations(payload)
        if violations:
            return err.validation_error(violations)
        contact = state.contacts.get(contact_id)
        if contact is None:
            return _one(state, state.create(payload, overwrite_with_blank=True), 201)
        state.replace(contact, payload)
        return _one(state, contact)


@delete("/contacts/{contact_id:int}/delete", status_code=200)
async def delete_contact(request: Request[Any, Any, Any], contact_id: FromPath[int]) -> AnyResponse:
    state = _state(request)
    with state.lock:
        contact = state.contacts.get(contact_id)
        if contact is None:
            return err.controller_error(404, err.NOT_FOUND)
        body = contact_json(state, contact)
        state.delete(contact_id)
    return Response({"contact": body})


@get("/contacts/{contact_id:int}/segments")
async def contact_segments(request: Request[Any, Any, Any], contact_id: FromPath[int]) -> AnyResponse:
    state = _state(request)
    with state.lock:
        if contact_id not in state.contacts:
            return err.controller_error(404, err.NOT_FOUND)
        lists = {str(s.id): segment_json(s) for s in state.segments_of(contact_id)}
    return Response({"total": len(lists), "lists": lists})


# --- segments -------------------------------------------------------------------------------


@get("/segments")
async def list_segments(request: Request[Any, Any, Any]) -> AnyResponse:
    state = _state(request)
    with state.lock:
        lists = {str(s.id): segment_json(s) for s in state.segments.values()}
    return Response({"total": str(len(lists)), "lists": lists})


async def _membership(
    request: Request[Any, Any, Any], segment_id: int, contact_id: int, *, add: bool
) -> AnyResponse:
    state = _state(request)
    with state.lock:
        segment = state.segments.get(segment_id)
        if segment is None:
            return err.controller_error(404, err.NOT_FOUND)
        if contact_id not in state.contacts:
            return err.controller_error(404, err.CONTACT_NOT_FOUND)
        if add:
            segment.members.add(contact_id)
        else:
            segment.members.discard(contact_id)
    return Response({"success": 1})


@post("/segments/{segment_id:int}/contact/{contact_id:int}/add", status_code=200)
async def segment_add(
    request: Request[Any, Any, Any], segment_id: FromPath[int], contact_id: FromPath[int]
) -> AnyResponse:
    return await _membership(request, segment_id, contact_id, add=True)


@post("/segments/{segment_id:int}/contact/{contact_id:int}/remove", status_code=200)
async def segment_remove(
    request: Request[Any, Any, Any], segment_id: FromPath[int], contact_id: FromPath[int]
) -> AnyResponse:
    return await _membership(request, segment_id, contact_id, add=False)


# --- /_sandbox/ ------------------------------------------------------------------------------


@get("/_sandbox/state")
async def sandbox_state(request: Request[Any, Any, Any]) -> AnyResponse:
    state = _state(request)
    with state.lock:
        body = {
            "contacts": {str(c.id): contact_json(state, c) for c in state.contacts.values()},
            "segments": {
                str(s.id): {**segment_json(s), "members": sorted(s.members)} for s in state.segments.values()
            },
            "tags": sorted(state.tag_ids),
            "tokens": len(state.tokens),
            "requests": list(state.requests),
        }
    return Response(body)


@post("/_sandbox/reset", status_code=200)
async def sandbox_reset(request: Request[Any, Any, Any]) -> AnyResponse:
    state = _state(request)
    with state.lock:
        state.reset()
    request.app.state.faults.clear()
    return Response({"reset": True})


@post("/_sandbox/tokens/expire", status_code=200)
async def sandbox_expire_tokens(request: Request[Any, Any, Any]) -> AnyResponse:
    state = _state(request)
    with state.lock:
        expired = state.expire_tokens()
    return Response({"expired": expired})


def create_app(**overrides: Any) -> ASGIApp:
    """The Mautic sandbox, configured from ``MAUTIC_SANDBOX_*`` and ``overrides`` (see ``_config``)."""
    config = MauticSandboxConfig.from_env(**overrides)
    state = MauticState(config)
    faults = FaultInjector()

    def add_version(response: AnyResponse) -> AnyResponse:
        response.headers["Mautic-Version"] = config.version
        return response

    api = Router(
        "/api",
        route_handlers=[
            list_contacts,
            new_contact,
            get_contact,
            patch_contact,
            put_contact,
            delete_contact,
            contact_segments,
            list_segments,
            segment_add,
            segment_remove,
        ],
        before_request=_authorize,
        after_request=add_version,
    )
    app = Litestar(
        route_handlers=[api, token, sandbox_state, sandbox_reset, sandbox_expire_tokens],
        debug=False,
    )
    app.state.mautic = state
    app.state.faults = faults
    asgi: ASGIApp = app  # type: ignore[assignment]  # Litestar's precise ASGI types vs the plain alias
    return FaultMiddleware(asgi, faults, err.injected_error_body(config.rate_limit), err.rate_limit_headers)
