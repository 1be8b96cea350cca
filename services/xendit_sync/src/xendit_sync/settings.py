"""xendit_sync's settings, read from the environment once by ``__main__``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from lovia_billing import ConsumerSettings


class XenditSyncSettings(ConsumerSettings):
    """The consumer runtime's settings plus Xendit's (``XENDIT_BASE_URL``, ``XENDIT_SECRET_KEY``...)."""

    xendit_base_url: str = Field(default="https://api.xendit.co", description="Xendit API or its sandbox")
    xendit_secret_key: SecretStr = Field(description="secret API key (Basic auth username)")
    xendit_invoice_duration_seconds: int = Field(
        default=86400, ge=60, le=31_536_000, description="time to pay an invoice before it expires"
    )
    xendit_timeout_seconds: float = Field(default=10.0, gt=0, description="per-request timeout")
    xendit_list_page_size: int = Field(default=100, ge=1, le=100, description="page size of invoice lists")
