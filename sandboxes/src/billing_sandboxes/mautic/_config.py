"""The sandbox's configuration: environment variables (``MAUTIC_SANDBOX_*``) overridden by arguments.

Defaults are the local stack's made-up credentials and the custom fields and segment that
``docs/mautic.md`` asks an operator to create in a real Mautic, so ``mautic_sync`` works against
the sandbox with its own defaults.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, Field

ENV_PREFIX = "MAUTIC_SANDBOX_"


class SegmentSeed(BaseModel):
    id: int
    name: str
    alias: str


class FieldSeed(BaseModel):
    """A custom contact field the sandbox knows (an operator creates these in Mautic)."""

    alias: str
    label: str
    type: str = "text"
    is_unique: bool = False


class MauticSandboxConfig(BaseModel):
    client_id: str = "local-mautic-client"
    client_secret: str = "local-mautic-secret"  # noqa: S105 - the sandbox's made-up local value
    username: str = "local-mautic-user"
    password: str = "local-mautic-password"  # noqa: S105 - the sandbox's made-up local value
    api_enabled: bool = True
    basic_auth_enabled: bool = True
    token_lifetime_seconds: int = Field(default=3600, ge=1, description="api_oauth2_access_token_lifetime")
    version: str = "5.1.1"
    rate_limit: int = Field(default=1000, description="N in the 429 message (the limiter itself is a fault)")
    page_limit: int = 30
    segments: list[SegmentSeed] = Field(
        default_factory=lambda: [SegmentSeed(id=1, name="Active subscribers", alias="active-subscribers")]
    )
    custom_fields: list[FieldSeed] = Field(
        default_factory=lambda: [
            FieldSeed(alias="billing_customer_id", label="Billing customer id"),
            FieldSeed(alias="billing_plan", label="Billing plan"),
            FieldSeed(alias="billing_status", label="Billing status"),
            FieldSeed(alias="billing_open_invoices", label="Billing open invoices", type="textarea"),
        ]
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> MauticSandboxConfig:
        """``MAUTIC_SANDBOX_<FIELD>`` for scalar fields; keyword arguments win."""
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            raw = os.environ.get(ENV_PREFIX + name.upper())
            if raw is not None and info.annotation in (str, int, bool):
                values[name] = raw
        return cls.model_validate({**values, **overrides})
