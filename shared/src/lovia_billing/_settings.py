"""Settings, typed and read from the environment once, by each deployable's composition root.

In AWS, secrets reach the environment as ECS container secrets. Outside ECS, ``BILLING_SECRETS_ARN``
may name one Secrets Manager secret whose JSON keys are setting names (``XENDIT_SECRET_KEY``...);
environment variables win over it. Nothing reads settings at import time.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from lovia_billing._errors import ConfigurationError
from lovia_billing.topology import Topology


def split_list(value: Any) -> Any:
    """``"a,b"`` → ``["a", "b"]``; lists pass through; blanks are dropped."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


#: A comma-separated list in the environment (``BILLING_API_KEYS=k1,k2``).
CommaList = Annotated[list[SecretStr], NoDecode]


class SecretsManagerSource(PydanticBaseSettingsSource):
    """Reads one JSON secret named by ``BILLING_SECRETS_ARN`` (synchronous: runs once at start-up)."""

    def __init__(self, settings_cls: type[BaseSettings], secret_arn: str | None) -> None:
        super().__init__(settings_cls)
        self._values: dict[str, Any] = {}
        if secret_arn:
            self._values = self._load(secret_arn)

    @staticmethod
    def _load(secret_arn: str) -> dict[str, Any]:
        import boto3  # only when a secret is configured

        try:
            raw = boto3.client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
            values = json.loads(raw)
        except Exception as exc:
            raise ConfigurationError(f"cannot read BILLING_SECRETS_ARN: {type(exc).__name__}") from exc
        if not isinstance(values, dict):
            raise ConfigurationError("BILLING_SECRETS_ARN must hold a JSON object")
        return {str(k).lower(): v for k, v in values.items()}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002 - signature of the base class
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        names = set(self.settings_cls.model_fields)
        return {k: v for k, v in self._values.items() if k in names}


class BillingSettings(BaseSettings):
    """What every process of Lovia Billing needs."""

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    billing_stage: str = Field(default="local", description="local, staging or production")
    aws_region: str = Field(
        default="ap-southeast-1",
        validation_alias="AWS_REGION",
        description="AWS region (AWS_DEFAULT_REGION is honoured by boto when AWS_REGION is unset)",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR")
    billing_secrets_arn: str | None = Field(default=None, description="optional JSON secret of settings")

    @property
    def topology(self) -> Topology:
        return Topology(self.billing_stage)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files: the environment only
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        secrets = SecretsManagerSource(settings_cls, os.environ.get("BILLING_SECRETS_ARN"))
        return init_settings, env_settings, secrets, file_secret_settings


class IngestSettings(BillingSettings):
    """The ingest's settings (``services/ingest``)."""

    host: str = Field(default="127.0.0.1", description="address uvicorn binds (0.0.0.0 in containers)")
    port: int = Field(default=3005, description="HTTP port")
    billing_api_keys: CommaList = Field(
        default_factory=list, description="accepted Bearer API keys, comma-separated (rotation: list both)"
    )
    xendit_callback_token: CommaList = Field(
        default_factory=list,
        description="accepted x-callback-token values, comma-separated (rotation: list both)",
    )
    max_body_bytes: int = Field(default=64 * 1024, description="largest accepted request body (< 256 KiB)")
    answer_deadline_seconds: float = Field(
        default=10.0,
        gt=0,
        lt=30,
        description="longest a request waits for AWS before it is answered 503 with Retry-After "
        "(Xendit gives up on a callback after 30 s)",
    )
    aws_connect_timeout_seconds: float = Field(
        default=1.0, gt=0, description="AWS connect timeout, per attempt"
    )
    aws_read_timeout_seconds: float = Field(default=2.0, gt=0, description="AWS read timeout, per attempt")
    aws_max_attempts: int = Field(
        default=2,
        ge=1,
        le=10,
        description="attempts per AWS call, the first included (botocore standard mode)",
    )
    ready_timeout_seconds: float = Field(
        default=2.0, gt=0, description="limit of each readiness check (queues, tables), run together"
    )

    _split = field_validator("billing_api_keys", "xendit_callback_token", mode="before")(split_list)


class ConsumerSettings(BillingSettings):
    """The consumer runtime's settings, shared by the four ``*_sync`` services.

    Environment names are the field names in upper case (``CONSUMER_CONCURRENCY``, ``HEALTH_FILE``...).
    """

    consumer_concurrency: int = Field(default=32, ge=1, le=512, description="message groups in flight")
    consumer_prefetch: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="messages held waiting beyond the running ones (0: same as concurrency)",
    )
    consumer_pollers: int = Field(
        default=1,
        ge=1,
        le=16,
        description="concurrent ReceiveMessage calls (1 keeps moto's group order exact)",
    )
    consumer_max_messages: int = Field(default=10, ge=1, le=10, description="MaxNumberOfMessages per receive")
    consumer_wait_seconds: int = Field(default=20, ge=0, le=20, description="SQS long-poll wait")
    consumer_grace_seconds: float = Field(
        default=25.0, ge=0, description="SIGTERM: time to finish in-flight work (Fargate gives 30 s)"
    )
    consumer_visibility_timeout: int = Field(
        default=60, ge=1, le=43200, description="visibility given to a message, extended while it runs"
    )
    consumer_heartbeat_fraction: float = Field(
        default=0.5, gt=0, lt=1, description="extend visibility after this fraction of it has passed"
    )
    consumer_claim_seconds: int = Field(default=120, ge=1, description="idempotency claim lifetime")
    consumer_backoff_base: float = Field(default=2.0, ge=0, description="first retry delay, seconds")
    consumer_backoff_cap: float = Field(default=300.0, ge=0, description="longest retry delay, seconds")
    consumer_metrics_seconds: float = Field(default=60.0, gt=0, description="metrics flush interval")
    idempotency_ttl_days: int = Field(default=30, ge=1, description="how long a done record is kept")
    health_file: str | None = Field(default=None, description="liveness heartbeat file (touched each poll)")

    @property
    def buffer_limit(self) -> int:
        """Most messages held at once (running plus waiting for their group's turn)."""
        return self.consumer_concurrency + (self.consumer_prefetch or self.consumer_concurrency)
