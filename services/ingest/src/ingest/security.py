"""Guards: Bearer API keys for ``/v1``, ``x-callback-token`` for Xendit webhooks (constant time).

The guards are ``async`` though they never await: Litestar runs a sync guard in a worker thread,
one hand-off per request (about 5 % of the ingest's CPU per callback, ``bench/README.md``).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from pydantic import SecretStr


def matches_any(candidate: str, secrets: Sequence[SecretStr]) -> bool:
    """True if ``candidate`` equals one of ``secrets``; every secret is compared, in constant time."""
    given = candidate.encode()
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(given, secret.get_secret_value().encode())
    return found and bool(candidate)


def _settings(connection: ASGIConnection[Any, Any, Any, Any]) -> Any:
    return connection.app.state.services.settings


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    scheme, _sep, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not matches_any(token.strip(), _settings(connection).billing_api_keys):
        raise NotAuthorizedException("missing or unknown API key (Authorization: Bearer <key>)")


async def require_callback_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    token = connection.headers.get("x-callback-token", "")
    if not matches_any(token, _settings(connection).xendit_callback_token):
        raise NotAuthorizedException("missing or invalid x-callback-token")
