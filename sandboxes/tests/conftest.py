"""A Xendit sandbox whose every product posts its callbacks to one local receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from billing_testing.webhooks import WebhookReceiver

XENDIT_KEY = "xnd_development_products_key"
XENDIT_TOKEN = "products-callback-token"


@pytest.fixture
def hooks() -> WebhookReceiver:
    return WebhookReceiver()


@pytest.fixture
def xendit_url(
    sandbox_url: Callable[..., str], serve_asgi: Callable[[Any], str], hooks: WebhookReceiver
) -> str:
    """The sandbox posting to ``<receiver>/webhooks/xendit/<product>``, with a budget for tests."""
    return sandbox_url(
        "xendit",
        secret_key=XENDIT_KEY,
        callback_base_url=serve_asgi(hooks) + "/webhooks/xendit",
        callback_token=XENDIT_TOKEN,
        time_scale=0.00002,
        rate_limit=1000,
    )


@pytest.fixture
async def xendit(xendit_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=xendit_url, auth=(XENDIT_KEY, ""), timeout=5) as client:
        yield client
