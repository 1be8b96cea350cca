"""The reconciliation's settings: the same variables the consumers read for each API, plus its own.

Credentials are read-only needs: a Xendit key that may read invoices, refunds and payment requests;
an ERPNext user that may read Sales Invoices and Payment Entries; a ChartMogul key that may read
invoices; a Mautic user that may read contacts. In AWS they come from the task's secret (as the
consumers' do) and never appear in output.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from lovia_billing import BillingSettings, ConfigurationError
from lovia_billing.clients.mautic import BasicAuth, ClientCredentials, MauticAuth
from lovia_billing.mautic_state import FieldAliases


class ReconcileSettings(BillingSettings):
    xendit_base_url: str = Field(default="https://api.xendit.co", description="Xendit API or its sandbox")
    xendit_secret_key: SecretStr | None = Field(default=None, description="secret API key (reads only)")
    erpnext_base_url: str = Field(default="http://127.0.0.1:4002", description="ERPNext site root")
    erpnext_api_key: SecretStr | None = Field(default=None, description="API key of a user who may read")
    erpnext_api_secret: SecretStr | None = Field(default=None, description="its API secret")
    chartmogul_base_url: str = Field(default="https://api.chartmogul.com", description="ChartMogul API root")
    chartmogul_api_key: SecretStr | None = Field(default=None, description="API key (read access)")
    chartmogul_data_source_uuid: str | None = Field(default=None, description="the Import API data source")
    mautic_base_url: str = Field(default="http://127.0.0.1:4004", description="Mautic's root URL")
    mautic_client_id: str | None = Field(default=None, description="OAuth2 client credentials: public id")
    mautic_client_secret: SecretStr | None = Field(default=None, description="OAuth2 client secret")
    mautic_username: str | None = Field(default=None, description="Basic auth (alternative): Mautic user")
    mautic_password: SecretStr | None = Field(default=None, description="Basic auth: that user's password")
    mautic_field_customer_id: str = Field(default="billing_customer_id", description="our customer id")
    mautic_field_plan: str = Field(default="billing_plan", description="the customer's plan")
    mautic_field_status: str = Field(default="billing_status", description="paid, open_invoice, ...")
    mautic_field_open_invoices: str = Field(default="billing_open_invoices", description="unpaid invoice ids")
    reconcile_time_zone: str = Field(
        default="Asia/Jakarta", description="the zone of --since/--until dates and of ERPNext's posting dates"
    )
    reconcile_page_size: int = Field(default=100, ge=1, le=100, description="Xendit list page size")
    reconcile_lookback_days: int = Field(
        default=7, ge=0, le=90, description="how far back refund and payment-request lists are read"
    )
    reconcile_xendit_reserve: int = Field(
        default=0, ge=0, description="Xendit requests left unused per rate-limit window (for xendit_sync)"
    )
    reconcile_chartmogul_concurrency: int = Field(
        default=8,
        ge=1,
        le=20,
        description="ChartMogul invoice reads at once (its limit: 40/s, 20 connections)",
    )
    reconcile_chartmogul_per_second: float = Field(
        default=30.0, gt=0, le=40, description="ChartMogul requests a second at most (its limit: 40)"
    )
    reconcile_timeout_seconds: float = Field(default=30.0, gt=0, description="per-request timeout")
    reconcile_second_look_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="pause before the books are read again when the first reading found drift for a person",
    )

    @property
    def field_aliases(self) -> FieldAliases:
        return FieldAliases(
            customer_id=self.mautic_field_customer_id,
            plan=self.mautic_field_plan,
            status=self.mautic_field_status,
            open_invoices=self.mautic_field_open_invoices,
        )

    def mautic_auth(self) -> MauticAuth:
        if self.mautic_client_id and self.mautic_client_secret:
            return ClientCredentials(self.mautic_client_id, self.mautic_client_secret.get_secret_value())
        if self.mautic_username and self.mautic_password:
            return BasicAuth(self.mautic_username, self.mautic_password.get_secret_value())
        raise ConfigurationError(
            "set MAUTIC_CLIENT_ID and MAUTIC_CLIENT_SECRET, or MAUTIC_USERNAME and MAUTIC_PASSWORD"
        )

    def secret(self, name: str) -> SecretStr:
        """A credential that must be set (``ConfigurationError`` naming it otherwise)."""
        value = getattr(self, name)
        if not isinstance(value, SecretStr) or not value.get_secret_value():
            raise ConfigurationError(f"missing setting: {name.upper()}")
        return value

    def text(self, name: str) -> str:
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(f"missing setting: {name.upper()}")
        return str(value)

    def require(self, *names: str) -> None:
        """``ConfigurationError`` naming the settings a run needs that are not set."""
        missing = [name.upper() for name in names if getattr(self, name) in (None, "")]
        if missing:
            raise ConfigurationError(f"missing setting: {', '.join(missing)}")
