"""The Xendit sandbox's settings: environment variables ``XENDIT_SANDBOX_*``, overridable per app."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

#: Where each product's callbacks go under ``callback_base_url`` (the ingest's routes).
PRODUCT_PATHS: dict[str, str] = {
    "invoice": "invoice",
    "fva": "fva",
    "payment": "payment",
    "recurring": "recurring",
    "ewallet": "ewallet",
    "refund": "refund",
    "payment_method": "payment_method",
}

#: Xendit's automatic retry schedule for webhooks: gaps after the original attempt (ref §5):
#: +15 min, +45 min, +2 h, +3 h, +6 h, +12 h → retries at 15 min, 1 h, 3 h, 6 h, 12 h and 24 h.
RETRY_GAPS_SECONDS: tuple[float, ...] = (900, 2700, 7200, 10800, 21600, 43200)


class XenditSandboxConfig(BaseModel):
    """How one Xendit sandbox behaves; every field may come from ``XENDIT_SANDBOX_<NAME>``."""

    model_config = ConfigDict(extra="forbid")

    secret_key: str = Field(default="xnd_development_local_sandbox", description="accepted API key")
    callback_url: str | None = Field(
        default=None, description="where invoice callbacks are POSTed (wins over callback_base_url)"
    )
    callback_base_url: str | None = Field(
        default=None, description="products POST to <base>/invoice, /fva, /payment, /recurring, ..."
    )
    callbacks_enabled: bool = Field(default=True, description="false: log callbacks as not_sent")
    hold_refunds: bool = Field(default=False, description="refunds stay PENDING until the side door")
    callback_token: str = Field(default="local-callback-token", description="sent as x-callback-token")
    business_id: str = Field(default="5f27a14a9bf05c73dd040bc8", description="invoices' user_id")
    merchant_name: str = "Lovia (sandbox)"
    checkout_base_url: str = "https://checkout-staging.xendit.co/web"
    rate_limit: int = Field(default=60, ge=1, description="requests per endpoint per key per window")
    rate_limit_window_seconds: float = Field(default=60.0, gt=0)
    time_scale: float = Field(
        default=1.0,
        gt=0,
        description="multiplies the webhook retry schedule: 0.0001 turns 24 h of retries into ~9 s",
    )
    callback_timeout_seconds: float = Field(default=30.0, gt=0, description="a slower receiver: Timeout")
    shuffle_window_ms: int = Field(default=200, ge=0, description="largest random delay when shuffling")
    duplicates: int = Field(default=0, ge=0, le=20, description="extra copies of every callback")
    shuffle: bool = Field(default=False, description="deliver callbacks after a random delay")

    @classmethod
    def from_env(cls, **overrides: Any) -> XenditSandboxConfig:
        """Read ``XENDIT_SANDBOX_*`` variables, then apply ``overrides`` (keyword names are field names)."""
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = os.environ.get(f"XENDIT_SANDBOX_{name.upper()}")
            if raw is not None:
                values[name] = raw
        return cls.model_validate({**values, **overrides})

    def url_for(self, product: str) -> str | None:
        """Where ``product``'s callbacks go: ``callback_url`` for invoices when set, else under the base."""
        if product == "invoice" and self.callback_url:
            return self.callback_url
        if self.callback_base_url:
            return f"{self.callback_base_url.rstrip('/')}/{PRODUCT_PATHS[product]}"
        return None

    def retry_gaps(self) -> list[float]:
        """Seconds to wait before each retry (after the previous attempt), compressed by ``time_scale``."""
        return [gap * self.time_scale for gap in RETRY_GAPS_SECONDS]
