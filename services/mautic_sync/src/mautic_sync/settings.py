"""``MauticSyncSettings``: where Mautic is, how to sign in, and the names of what an operator created there.

Environment (see docs/mautic.md): ``MAUTIC_BASE_URL``; OAuth2 ``MAUTIC_CLIENT_ID`` +
``MAUTIC_CLIENT_SECRET`` *or* Basic ``MAUTIC_USERNAME`` + ``MAUTIC_PASSWORD``;
``MAUTIC_ACTIVE_SEGMENT_ID``; ``MAUTIC_FIELD_*`` custom field aliases. Defaults match the sandbox.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from lovia_billing import ConfigurationError, ConsumerSettings
from lovia_billing.clients.mautic import BasicAuth, ClientCredentials, MauticAuth
from mautic_sync.domain import FieldAliases


class MauticSyncSettings(ConsumerSettings):
    mautic_base_url: str = Field(default="http://127.0.0.1:4004", description="Mautic's root URL")
    mautic_client_id: str | None = Field(default=None, description="OAuth2 client credentials: public id")
    mautic_client_secret: SecretStr | None = Field(default=None, description="OAuth2 client secret")
    mautic_username: str | None = Field(default=None, description="Basic auth (alternative): Mautic user")
    mautic_password: SecretStr | None = Field(default=None, description="Basic auth: that user's password")
    mautic_timeout_seconds: float = Field(default=10.0, gt=0, description="per-request timeout")
    mautic_active_segment_id: int = Field(default=1, ge=1, description="the 'active subscribers' segment")
    mautic_field_customer_id: str = Field(default="billing_customer_id", description="our customer id")
    mautic_field_plan: str = Field(default="billing_plan", description="the customer's plan")
    mautic_field_status: str = Field(default="billing_status", description="paid, open_invoice, ...")
    mautic_field_open_invoices: str = Field(
        default="billing_open_invoices", description="ids of our unpaid, unexpired invoices (textarea)"
    )

    def mautic_auth(self) -> MauticAuth:
        """OAuth2 when a client id is set, else Basic; ``ConfigurationError`` if neither is complete."""
        if self.mautic_client_id or self.mautic_client_secret:
            if not (self.mautic_client_id and self.mautic_client_secret):
                raise ConfigurationError("MAUTIC_CLIENT_ID and MAUTIC_CLIENT_SECRET must be set together")
            return ClientCredentials(self.mautic_client_id, self.mautic_client_secret.get_secret_value())
        if self.mautic_username and self.mautic_password:
            return BasicAuth(self.mautic_username, self.mautic_password.get_secret_value())
        raise ConfigurationError(
            "set MAUTIC_CLIENT_ID and MAUTIC_CLIENT_SECRET (OAuth2), or MAUTIC_USERNAME and MAUTIC_PASSWORD"
        )

    @property
    def field_aliases(self) -> FieldAliases:
        return FieldAliases(
            customer_id=self.mautic_field_customer_id,
            plan=self.mautic_field_plan,
            status=self.mautic_field_status,
            open_invoices=self.mautic_field_open_invoices,
        )
