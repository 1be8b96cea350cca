"""chartmogul_sync's settings, read from the environment once by ``__main__``."""

from __future__ import annotations

from pydantic import Field, SecretStr

from lovia_billing import ConsumerSettings


class ChartmogulSyncSettings(ConsumerSettings):
    chartmogul_base_url: str = Field(
        default="https://api.chartmogul.com", description="ChartMogul API root (with or without /v1)"
    )
    chartmogul_api_key: SecretStr = Field(description="API key with write access (Basic auth user name)")
    chartmogul_data_source_uuid: str = Field(
        description="the Import API data source (ds_...) that holds Lovia's customers and invoices"
    )
    chartmogul_timeout_seconds: float = Field(default=10.0, gt=0, description="read timeout per request")
