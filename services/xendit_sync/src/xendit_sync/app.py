"""xendit_sync's composition root: the settings in, the runtime's ``IntegrationApp`` out."""

from __future__ import annotations

from lovia_billing import Integration
from lovia_billing.clients.xendit import XenditClient
from lovia_billing.consumer import IntegrationApp
from xendit_sync.handlers import XenditHandlers
from xendit_sync.settings import XenditSyncSettings


def build(settings: XenditSyncSettings, xendit: XenditClient | None = None) -> IntegrationApp:
    """The handlers of the xendit queue; ``xendit`` lets tests pass a client of their own."""
    client = xendit or XenditClient(
        settings.xendit_base_url, settings.xendit_secret_key, timeout=settings.xendit_timeout_seconds
    )
    handlers = XenditHandlers(client, settings)
    return IntegrationApp(Integration.XENDIT, handlers.table(), resources=[client])
