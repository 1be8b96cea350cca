"""The ChartMogul sandbox's configuration: environment first, keyword overrides for tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from typing import Any

#: The made-up local values of ``billing_cli.local_stack``; never real credentials.
DEFAULT_API_KEY = "local-chartmogul-key"
DEFAULT_DATA_SOURCE_UUID = "ds_local_lovia"


@dataclass(frozen=True)
class SandboxConfig:
    api_key: str = DEFAULT_API_KEY
    #: The data source seeded at start and after every reset (the one our consumer writes to).
    data_source_uuid: str = DEFAULT_DATA_SOURCE_UUID
    data_source_name: str = "Lovia Billing"
    #: ChartMogul's documented limits: 40 requests/s per account (429), 20 parallel connections (503).
    rate_limit_per_second: int = 40
    max_parallel: int = 20

    @classmethod
    def from_env(cls, **overrides: Any) -> SandboxConfig:
        env = os.environ
        config = cls(
            api_key=env.get("CHARTMOGUL_SANDBOX_API_KEY", DEFAULT_API_KEY),
            data_source_uuid=env.get("CHARTMOGUL_SANDBOX_DATA_SOURCE_UUID", DEFAULT_DATA_SOURCE_UUID),
            rate_limit_per_second=int(env.get("CHARTMOGUL_SANDBOX_RATE_LIMIT", "40")),
            max_parallel=int(env.get("CHARTMOGUL_SANDBOX_MAX_PARALLEL", "20")),
        )
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown ChartMogul sandbox settings: {sorted(unknown)}")
        return replace(config, **overrides)
