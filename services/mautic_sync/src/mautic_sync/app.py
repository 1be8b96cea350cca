"""The composition root of mautic_sync: settings in, an ``IntegrationApp`` out."""

from __future__ import annotations

from lovia_billing import Integration
from lovia_billing.clients.mautic import MauticClient
from lovia_billing.consumer import IntegrationApp
from mautic_sync.handlers import MauticHandlers
from mautic_sync.settings import MauticSyncSettings


def build(settings: MauticSyncSettings, client: MauticClient | None = None) -> IntegrationApp:
    """Handlers wired to one Mautic client (``client`` lets tests pass their own)."""
    if client is None:
        client = MauticClient(
            settings.mautic_base_url, settings.mautic_auth(), timeout=settings.mautic_timeout_seconds
        )
    handlers = MauticHandlers(client, settings.field_aliases, settings.mautic_active_segment_id)
    return IntegrationApp(Integration.MAUTIC, handlers.handlers(), resources=[client])
