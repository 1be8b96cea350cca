"""A faithful local ChartMogul (Import API v1) for tests and the local stack.

``create_app(**overrides)`` builds the ASGI app from the environment (``CHARTMOGUL_SANDBOX_API_KEY``,
``CHARTMOGUL_SANDBOX_DATA_SOURCE_UUID``, ``CHARTMOGUL_SANDBOX_RATE_LIMIT``,
``CHARTMOGUL_SANDBOX_MAX_PARALLEL``); keyword overrides use ``SandboxConfig``'s field names.
"""

from __future__ import annotations

from typing import Any

from billing_sandboxes.chartmogul._app import build_app
from billing_sandboxes.chartmogul._config import SandboxConfig


def create_app(**overrides: Any) -> Any:
    return build_app(SandboxConfig.from_env(**overrides))


__all__ = ["SandboxConfig", "create_app"]
