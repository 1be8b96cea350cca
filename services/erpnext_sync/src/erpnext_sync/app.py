"""erpnext_sync's composition root: settings (and optionally a client) in, the integration out."""

from __future__ import annotations

import httpx

from erpnext_sync.handlers import ErpnextHandlers
from erpnext_sync.settings import ErpnextSyncSettings
from lovia_billing import Integration
from lovia_billing.clients.erpnext import ErpnextClient
from lovia_billing.consumer import IntegrationApp


def build(settings: ErpnextSyncSettings, client: ErpnextClient | None = None) -> IntegrationApp:
    """Handlers for ``customer.upserted``, ``invoice.issued``, ``payment.succeeded``,
    ``refund.succeeded``, ``invoice.expired`` and ``subscription.cancelled``; the client is closed
    with the consumer."""
    if client is None:
        client = ErpnextClient(
            settings.erpnext_base_url,
            settings.erpnext_api_key,
            settings.erpnext_api_secret,
            timeout=httpx.Timeout(settings.erpnext_timeout_seconds, connect=3.0),
        )
    handlers = ErpnextHandlers(client, settings)
    return IntegrationApp(Integration.ERPNEXT, handlers.table(), resources=[client])
