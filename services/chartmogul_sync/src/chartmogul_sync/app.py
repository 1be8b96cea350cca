"""chartmogul_sync's composition root: settings (and optionally a client) in, the integration out."""

from __future__ import annotations

import httpx

from chartmogul_sync.handlers import ChartmogulHandlers
from chartmogul_sync.settings import ChartmogulSyncSettings
from lovia_billing import Integration
from lovia_billing.clients.chartmogul import ChartMogulClient
from lovia_billing.consumer import IntegrationApp


def build(settings: ChartmogulSyncSettings, client: ChartMogulClient | None = None) -> IntegrationApp:
    """Handlers for ``customer.upserted``, ``invoice.issued``, ``payment.succeeded``,
    ``refund.succeeded``, ``invoice.expired`` and ``subscription.cancelled``; the client is closed
    with the consumer."""
    if client is None:
        client = ChartMogulClient(
            settings.chartmogul_base_url,
            settings.chartmogul_api_key,
            timeout=httpx.Timeout(settings.chartmogul_timeout_seconds, connect=3.0),
        )
    handlers = ChartmogulHandlers(client, settings.chartmogul_data_source_uuid)
    return IntegrationApp(Integration.CHARTMOGUL, handlers.table(), resources=[client])
