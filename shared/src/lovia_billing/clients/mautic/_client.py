"""``MauticClient``: the contact and segment calls ``mautic_sync`` needs, over one httpx.AsyncClient.

Errors follow ``lovia_billing.clients._http`` (timeouts, 5xx and 429 retryable; other 4xx
permanent), with Mautic's own message (``errors[].message``) in the text. With OAuth2 the token
is fetched on first use, reused until shortly before it expires, and fetched again once when
Mautic answers 401 ``invalid_grant`` (an expired or revoked token).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from lovia_billing._errors import DownstreamUnavailable
from lovia_billing.clients._http import DEFAULT_TIMEOUT, HttpClient, json_or_text, raise_for_status, send
from lovia_billing.clients._wait import RETRY_AFTER, WaitHeader, WaitUnit
from lovia_billing.clients.mautic._auth import BasicAuth, ClientCredentials, MauticAuth
from lovia_billing.clients.mautic._models import MauticContact, UpsertResult, Where

SYSTEM = "mautic"
#: Mautic's rate limiter (noxlogic/ratelimit-bundle) counts per hour and sends ``X-RateLimit-Reset``
#: as the Unix time the window ends (``time() + period``), no ``Retry-After`` (ref/mautic.md §5).
RATE_LIMIT_RESET = WaitHeader("X-RateLimit-Reset", WaitUnit.EPOCH)
_WAIT_HEADERS = (RETRY_AFTER, RATE_LIMIT_RESET)


def error_message(body: Any) -> str:
    """Mautic's ``{"errors":[{"message": ...}]}`` as one line; anything else as text."""
    if isinstance(body, Mapping):
        errors = body.get("errors")
        if isinstance(errors, list):
            messages = [str(e.get("message")) for e in errors if isinstance(e, Mapping) and e.get("message")]
            if messages:
                return "; ".join(messages)
    return str(body)[:500]


def _error_type(response: httpx.Response) -> str | None:
    body = json_or_text(response)
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        return str(first.get("type")) if isinstance(first, Mapping) else None
    return None


class MauticClient(HttpClient):
    """Async Mautic REST client; use as ``async with MauticClient(url, auth) as mautic: ...``."""

    def __init__(
        self,
        base_url: str,
        auth: MauticAuth,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._auth = auth
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json"},
        )
        self._token: tuple[str, float] | None = None  # (access token, monotonic refresh time)
        self._token_lock = asyncio.Lock()

    # --- contacts ---------------------------------------------------------------------------

    async def upsert_contact(
        self, fields: Mapping[str, Any], *, tags: Sequence[str] = (), overwrite_with_blank: bool = False
    ) -> UpsertResult:
        """``POST /api/contacts/new``: creates, or updates the contact whose email matches."""
        payload = self._contact_payload(fields, tags, overwrite_with_blank)
        response = await self._checked("POST", "/api/contacts/new", json=payload)
        contact = MauticContact.from_api(self._body(response)["contact"])
        return UpsertResult(contact=contact, created=response.status_code == 201)

    async def edit_contact(
        self,
        contact_id: int,
        fields: Mapping[str, Any],
        *,
        tags: Sequence[str] = (),
        overwrite_with_blank: bool = False,
    ) -> MauticContact:
        """``PATCH /api/contacts/{id}/edit``: only what is sent changes; ``-tag`` removes a tag."""
        payload = self._contact_payload(fields, tags, overwrite_with_blank)
        response = await self._checked("PATCH", f"/api/contacts/{contact_id}/edit", json=payload)
        return MauticContact.from_api(self._body(response)["contact"])

    async def get_contact(self, contact_id: int) -> MauticContact | None:
        """``GET /api/contacts/{id}``; ``None`` when Mautic has no such contact."""
        response = await self._request("GET", f"/api/contacts/{contact_id}")
        if response.status_code == 404:
            return None
        self._raise_for_status(response)
        return MauticContact.from_api(self._body(response)["contact"])

    async def find_contacts(
        self, *, where: Sequence[Where] = (), search: str | None = None, limit: int = 30
    ) -> list[MauticContact]:
        """``GET /api/contacts`` filtered; newest first (highest id)."""
        params: list[tuple[str, str]] = [("limit", str(limit)), ("orderBy", "id"), ("orderByDir", "DESC")]
        if search is not None:
            params.append(("search", search))
        for index, clause in enumerate(where):
            params += [(f"where[{index}][col]", clause.col), (f"where[{index}][expr]", clause.expr)]
            if isinstance(clause.val, list):
                params += [(f"where[{index}][val][]", v) for v in clause.val]
            elif clause.val is not None:
                params.append((f"where[{index}][val]", clause.val))
        response = await self._checked("GET", "/api/contacts", params=params)
        contacts = self._body(response).get("contacts") or {}
        rows = contacts.values() if isinstance(contacts, Mapping) else contacts  # `[]` when empty
        return sorted((MauticContact.from_api(row) for row in rows), key=lambda c: c.id, reverse=True)

    async def find_contacts_by_field(self, alias: str, value: str) -> list[MauticContact]:
        """Contacts whose field equals ``value`` exactly (``where … eq``, not the prefix ``search``)."""
        return await self.find_contacts(where=[Where(col=alias, val=value)])

    # --- segments ---------------------------------------------------------------------------

    async def add_to_segment(self, segment_id: int, contact_id: int) -> None:
        """Idempotent: adding a member again is not an error."""
        await self._checked("POST", f"/api/segments/{segment_id}/contact/{contact_id}/add")

    async def remove_from_segment(self, segment_id: int, contact_id: int) -> None:
        """Idempotent: removing a non-member is not an error."""
        await self._checked("POST", f"/api/segments/{segment_id}/contact/{contact_id}/remove")

    # --- plumbing ---------------------------------------------------------------------------

    @staticmethod
    def _contact_payload(
        fields: Mapping[str, Any], tags: Sequence[str], overwrite_with_blank: bool
    ) -> dict[str, Any]:
        payload: dict[str, Any] = dict(fields)
        if tags:
            payload["tags"] = list(tags)
        if overwrite_with_blank:
            payload["overwriteWithBlank"] = True
        return payload

    async def _checked(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._request(method, path, **kwargs)
        self._raise_for_status(response)
        return response

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in (1, 2):
            headers = {"Authorization": await self._authorization()}
            request = self._http.build_request(method, path, headers=headers, **kwargs)
            response = await send(self._http, request, system=SYSTEM)
            expired = response.status_code == 401 and _error_type(response) == "invalid_grant"
            if expired and attempt == 1 and isinstance(self._auth, ClientCredentials):
                self._token = None  # expired or revoked: fetch a new one and try once more
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _authorization(self) -> str:
        if isinstance(self._auth, BasicAuth):
            return self._auth.header()
        async with self._token_lock:  # one token request at a time, shared by concurrent calls
            if self._token is None or time.monotonic() >= self._token[1]:
                self._token = await self._fetch_token(self._auth)
            return f"Bearer {self._token[0]}"

    async def _fetch_token(self, auth: ClientCredentials) -> tuple[str, float]:
        form = {
            "grant_type": "client_credentials",
            "client_id": auth.client_id,
            "client_secret": auth.client_secret,
        }
        request = self._http.build_request("POST", "/oauth/v2/token", data=form)
        response = await send(self._http, request, system=SYSTEM)
        self._raise_for_status(response)
        body = self._body(response)
        lifetime = float(body.get("expires_in") or 3600)
        # Refresh a little early so a token never expires between our check and Mautic's.
        return str(body["access_token"]), time.monotonic() + lifetime - min(60.0, lifetime / 10)

    @staticmethod
    def _raise_for_status(response: httpx.Response) -> None:
        if response.status_code >= 400:
            message = error_message(json_or_text(response))
            raise_for_status(response, message, system=SYSTEM, wait_headers=_WAIT_HEADERS)

    @staticmethod
    def _body(response: httpx.Response) -> dict[str, Any]:
        body = json_or_text(response)
        if not isinstance(body, dict):
            # A proxy's HTML page or a half-written answer: Mautic itself always answers JSON.
            where = f"{SYSTEM} {response.request.method} {response.request.url.path}"
            raise DownstreamUnavailable(f"{where} → {response.status_code}: not a JSON object")
        return body
