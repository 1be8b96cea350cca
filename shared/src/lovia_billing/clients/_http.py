"""The one mapping from HTTP outcomes to the runtime's error classes, used by every downstream client.

* transport timeout → ``DownstreamTimeout`` (outcome of a write unknown: look up before re-creating)
* connection refused/reset, other transport errors → ``DownstreamUnavailable``
* 429 → ``RateLimited`` with the wait the system's own header asks for (``_wait``: ``Retry-After``,
  seconds left, or a Unix timestamp, as each client declares)
* 5xx (and 408) → ``DownstreamUnavailable``
* other 4xx → ``PermanentError`` with the downstream's message
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from lovia_billing._errors import (
    DownstreamTimeout,
    DownstreamUnavailable,
    PermanentError,
    RateLimited,
)
from lovia_billing.clients._wait import RETRY_AFTER, WaitHeader, wait_seconds

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


def raise_for_status(
    response: httpx.Response,
    message: str,
    *,
    system: str,
    wait_headers: Sequence[WaitHeader] = (RETRY_AFTER,),
    permanent: bool | None = None,
) -> None:
    """Raise the runtime's error class for a non-2xx ``response``; ``message`` is the downstream's text.

    ``wait_headers``: the headers this system uses to say how long to wait, in order of preference.
    ``permanent`` overrides the status rule when the downstream's body says more than its status.
    """
    status = response.status_code
    if status < 400:
        return
    text = f"{system} {response.request.method} {response.request.url.path} → {status}: {message}"
    if permanent is True:
        raise PermanentError(text)
    if status == 429:
        raise RateLimited(text, retry_after=wait_seconds(response.headers, wait_headers))
    if status >= 500 or status == 408 or permanent is False:
        raise DownstreamUnavailable(text, retry_after=wait_seconds(response.headers, wait_headers))
    raise PermanentError(text)


async def send(client: httpx.AsyncClient, request: httpx.Request, *, system: str) -> httpx.Response:
    """Send ``request``, turning transport failures into retryable errors that name ``system``."""
    where = f"{system} {request.method} {request.url.path}"
    try:
        return await client.send(request)
    except httpx.TimeoutException as exc:
        raise DownstreamTimeout(f"{where}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise DownstreamUnavailable(f"{where}: {type(exc).__name__}: {exc}") from exc


def json_or_text(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class HttpClient:
    """Base of the downstream clients: owns one ``httpx.AsyncClient`` for the process's lifetime.

    Use as ``async with Client(...) as client`` or call ``aclose()``; subclasses set ``self._http``.
    """

    _http: httpx.AsyncClient

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()
