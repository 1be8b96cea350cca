"""The composition root of mautic_sync: settings in, an ``IntegrationApp`` out."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from lovia_billing import Integration
from lovia_billing.clients.mautic import MauticClient
from lovia_billing.consumer import IntegrationApp
from mautic_sync.handlers import MauticHandlers
from mautic_sync.settings import MauticSyncSettings
from mautic_sync.store import DynamoFactStore, FactStore


def build(
    settings: MauticSyncSettings, client: MauticClient | None = None, facts: FactStore | None = None
) -> IntegrationApp:
    """Handlers wired to one Mautic client and the customers' billing facts, by default one item per
    customer in the stage's idempotency table (``client`` and ``facts`` let tests pass their own;
    a ``facts`` passed in is opened and closed by the caller)."""
    if client is None:
        client = MauticClient(
            settings.mautic_base_url, settings.mautic_auth(), timeout=settings.mautic_timeout_seconds
        )
    resources: list[AbstractAsyncContextManager[Any]] = [client]
    if facts is None:
        store = DynamoFactStore(settings.topology.idempotency_table, region=settings.aws_region)
        resources.append(store)
        facts = store
    handlers = MauticHandlers(client, facts, settings.field_aliases, settings.mautic_active_segment_id)
    return IntegrationApp(Integration.MAUTIC, handlers.handlers(), resources=resources)
