"""Fixtures for erpnext_sync's tests: a fresh ERPNext sandbox, settings and handlers bound to it.

Also lets the tests here import ``erpnext_events`` (pytest runs with ``--import-mode=importlib``).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from billing_testing.context import RecordingContext
from erpnext_sync.handlers import ErpnextHandlers
from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing import Integration
from lovia_billing.clients.erpnext import ErpnextClient


@pytest.fixture
def erpnext(sandbox_url: Callable[..., str]) -> str:
    return sandbox_url("erpnext")


@pytest.fixture
def settings(erpnext: str) -> ErpnextSyncSettings:
    return ErpnextSyncSettings(
        erpnext_base_url=erpnext,
        erpnext_api_key="local-erpnext-key",
        erpnext_api_secret="local-erpnext-secret",
    )


@pytest.fixture
async def client(settings: ErpnextSyncSettings) -> AsyncIterator[ErpnextClient]:
    async with ErpnextClient(
        settings.erpnext_base_url, settings.erpnext_api_key, settings.erpnext_api_secret
    ) as erpnext_client:
        yield erpnext_client


@pytest.fixture
def handlers(client: ErpnextClient, settings: ErpnextSyncSettings) -> ErpnextHandlers:
    return ErpnextHandlers(client, settings)


@pytest.fixture
def ctx() -> RecordingContext:
    return RecordingContext(Integration.ERPNEXT)
