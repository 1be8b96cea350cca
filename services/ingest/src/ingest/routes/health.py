"""Liveness (``GET /``, for ``curl -f``) and readiness (``GET /health/ready``: the queues answer)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from ingest.errors import error_response, error_responses
from ingest.services import Services
from lovia_billing.topology import Integration

READY_TIMEOUT_SECONDS = 3.0


@get("/", summary="Liveness", tags=["health"], sync_to_thread=False)
def liveness() -> dict[str, str]:
    """200 while the process serves requests (the container health check)."""
    return {"status": "ok"}


@get("/health/ready", summary="Readiness", tags=["health"], responses=error_responses(503))
async def readiness(services: NamedDependency[Services]) -> Response[Any]:
    """200 only when every source queue can be reached; 503 otherwise (the load balancer's check)."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await services.publisher.resolve_queues()
            await services.publisher.check_queues()
    except Exception as exc:
        return error_response(503, f"queues unreachable: {type(exc).__name__}: {exc}")
    return Response({"status": "ready", "queues": [i.value for i in Integration]})
