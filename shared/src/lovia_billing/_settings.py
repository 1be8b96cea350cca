"""Settings, typed and read from the environment once, by each deployable's composition root.

In AWS, secrets reach the environment as ECS container secrets. Outside ECS, ``BILLING_SECRETS_ARN``
may name one Secrets Manager secret whose JSON keys are setting names (``XENDIT_SECRET_KEY``...);
environment variables win over it. The secret is read by pydantic-settings' own
``AWSSecretsManagerSettingsSource`` (the ``aws-secrets-manager`` extra). Nothing reads settings at
import time.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    AWSSecretsManagerSettingsSource,
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from lovia_billing._errors import ConfigurationError
from lovia_billing.topology import Topology


def split_list(value: Any) -> Any:
    """``"a,b"`` → ``["a", "b"]``; lists pass through; blanks are dropped."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


#: A comma-separated list in the environment (``BILLING_API_KEYS=k1,k2``).
CommaList = Annotated[list[SecretStr], NoDecode]


def _region_of(secret_id: str) -> str | None:
    """The region an ARN names (``arn:aws:secretsmanager:<region>:…``); else boto's own default."""
    parts = secret_id.split(":")
    if secret_id.startswith("arn:") and len(parts) > 3 and parts[3]:
        return parts[3]
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def secrets_manager_source(settings_cls: type[BaseSettings], secret_id: str) -> PydanticBaseSettingsSource:
    """The secret's JSON keys as settings (case-insensitive, like the environment), read once now.

    A secret that cannot be read or is not a JSON object is a ``ConfigurationError`` naming the
    setting, never the secret's content.
    """
    try:
        source = AWSSecretsManagerSettingsSource(
            settings_cls, secret_id, region_name=_region_of(secret_id), case_sensitive=False
        )
    except Exception as exc:
        raise ConfigurationError(f"cannot read BILLING_SECRETS_ARN: {type(exc).__name__}") from exc
    return source


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
        secret_id = os.environ.get("BILLING_SECRETS_ARN")
        if not secret_id:
            return init_settings, env_settings, file_secret_settings
        secrets = secrets_manager_source(settings_cls, secret_id)
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
    public_base_url: str | None = Field(
        default=None,
        description="where clients reach the ingest, named in its OpenAPI document (default http://HOST:PORT)",
    )
    graphql_ide: bool = Field(default=True, description="serve GraphiQL at GET /graphql (from local files)")
    graphql_introspection: bool = Field(default=True, description="answer GraphQL introspection queries")
    console_enabled: bool = Field(default=True, description="serve the operators' console at /console")
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

    @property
    def public_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")


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
    consumer_backoff_cap: float = Field(
        default=12 * 3600.0,
        ge=0,
        le=12 * 3600.0,
        description="longest retry delay, seconds (SQS's maximum visibility timeout, 12 h)",
    )
    consumer_breaker_groups: int = Field(
        default=3,
        ge=1,
        description="message groups that must fail for system reasons (connection, timeout, 5xx, 429) "
        "within the window, with no success between, to open the circuit breaker",
    )
    consumer_breaker_window_seconds: float = Field(
        default=120.0, gt=0, description="how recent those failures must be, seconds"
    )
    consumer_breaker_probe_seconds: float = Field(
        default=5.0,
        gt=0,
        description="first probe after the breaker opens, seconds; doubles per failed probe",
    )
    consumer_breaker_probe_cap_seconds: float = Field(
        default=300.0, gt=0, description="longest interval between probes, seconds"
    )
    consumer_time_scale: float = Field(
        default=1.0,
        gt=0,
        le=1,
        description="tests only: multiplies the retry backoff and every breaker duration "
        "(0.001 makes the 24 h retry budget about 90 s and a 5 min probe interval 0.3 s)",
    )
    consumer_metrics_seconds: float = Field(default=60.0, gt=0, description="metrics flush interval")
    idempotency_ttl_days: int = Field(default=30, ge=1, description="how long a done record is kept")
    health_file: str | None = Field(default=None, description="liveness heartbeat file (touched each poll)")

    @model_validator(mode="after")
    def _probe_cap_not_below_first_probe(self) -> ConsumerSettings:
        if self.consumer_breaker_probe_cap_seconds < self.consumer_breaker_probe_seconds:
            raise ValueError(
                "CONSUMER_BREAKER_PROBE_CAP_SECONDS must be at least CONSUMER_BREAKER_PROBE_SECONDS"
            )
        return self

    def scaled(self, seconds: float) -> float:
        """A retry or breaker duration under ``consumer_time_scale`` (itself in production)."""
        return seconds * self.consumer_time_scale

    @property
    def buffer_limit(self) -> int:
        """Most messages held at once (running plus waiting for their group's turn)."""
        return self.consumer_concurrency + (self.consumer_prefetch or self.consumer_concurrency)
