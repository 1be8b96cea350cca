"""Who may call the API: Mautic's ``ApiSubscriber`` checks, in its order, with its exact bodies."""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from typing import Any

from litestar import Response

from billing_sandboxes.mautic import _errors as err
from billing_sandboxes.mautic._store import MauticState


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def check_api_access(state: MauticState, authorization: str | None) -> tuple[Response[Any] | None, str]:
    """``(error response or None, auth kind)`` for one ``/api`` request."""
    config = state.config
    if not config.api_enabled:
        return err.listener_error(403, err.API_DISABLED, "api_disabled"), "none"
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        if not config.basic_auth_enabled:
            return err.listener_error(403, err.BASIC_DISABLED, "access_denied"), "basic"
        try:
            user, _, password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, password = "", ""
        # Evaluate both comparisons so the time taken does not say which one failed.
        user_ok = _equal(user, config.username)
        password_ok = _equal(password, config.password)
        if not (user_ok and password_ok):
            return err.listener_error(401, err.BASIC_DENIED, "access_denied"), "basic"
        return None, "basic"
    if scheme.lower() == "bearer" and credentials.strip():
        token = state.tokens.get(credentials.strip())
        if token is None:
            return err.listener_error(401, err.TOKEN_INVALID, "invalid_grant"), "bearer"
        if token.expires_at <= time.monotonic():
            return err.listener_error(401, err.TOKEN_EXPIRED, "invalid_grant"), "bearer"
        return None, "bearer"
    return err.listener_error(401, err.AUTH_DENIED, "access_denied"), "none"


def check_client(state: MauticState, form: dict[str, Any]) -> Response[Any] | None:
    """``POST /oauth/v2/token`` with ``grant_type=client_credentials``: an error or ``None``."""
    if form.get("grant_type") != "client_credentials":
        return err.listener_error(400, err.GRANT_INVALID, "invalid_request")
    client_ok = _equal(str(form.get("client_id", "")), state.config.client_id)
    secret_ok = _equal(str(form.get("client_secret", "")), state.config.client_secret)
    if not (client_ok and secret_ok):
        return err.listener_error(400, err.CLIENT_INVALID, "invalid_client")
    return None
