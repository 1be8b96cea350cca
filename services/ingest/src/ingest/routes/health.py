"""Liveness (``GET /``, for ``curl -f``) and readiness (``GET /health/ready``: everything the ingest
writes to answers).

Readiness asks each dependency at once, each bounded by ``READY_TIMEOUT_SECONDS``: every source
queue (its URL, then its attributes) and both DynamoDB tables, the ledger and the idempotency table
(a ``GetItem`` of a key no item has: it needs the table to exist and the role to read it, and costs
what any read costs). Liveness asks nothing: a process that is up but cannot reach AWS is not
restarted, it is taken out of the load balancer until AWS answers again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Response, get
from litestar.di import NamedDependency

from ingest.errors import ErrorDetail, error_response, error_responses
from ingest.services import Services
from lovia_billing.topology import Integration

#: The key read from each table: no item has it (ledger keys are event ids, ingest keys start with
#: ``ingest-key#``, consumer claims with an integration's name).
PROBE_KEY = "readiness-probe"


@get("/", summary="Liveness", tags=["health"], sync_to_thread=False)
def liveness() -> dict[str, str]:
    """200 while the process serves requests (the container health check); asks no dependency."""
    return {"status": "ok"}


@get("/health/ready", summary="Readiness", tags=["health"], responses=error_responses(503))
async def readiness(services: NamedDependency[Services]) -> Response[Any]:
    """200 when every source queue and both tables answer; 503 naming each one that did not."""
    topology = services.settings.topology
    checks: dict[str, Callable[[], Awaitable[Any]]] = {
        f"queue {topology.queue_name(i)}": _queue_check(services, i) for i in Integration
    }
    for table, key in ((topology.ledger_table, "event_id"), (topology.idempotency_table, "pk")):
        checks[f"table {table}"] = _table_check(services, table, key)
    timeout = services.settings.ready_timeout_seconds
    results = await asyncio.gather(*(_bounded(check(), timeout) for check in checks.values()))
    failed = [
        ErrorDetail(field=name, message=error) for name, error in zip(checks, results, strict=True) if error
    ]
    if failed:
        names = ", ".join(f.field or "" for f in failed)
        return error_response(503, f"not ready: {names} unreachable or missing", failed, code="not_ready")
    return Response(
        {
            "status": "ready",
            "queues": [topology.queue_name(i) for i in Integration],
            "tables": [topology.ledger_table, topology.idempotency_table],
        }
    )


def _queue_check(services: Services, integration: Integration) -> Callable[[], Awaitable[Any]]:
    async def check() -> None:
        await services.publisher.resolve_queues([integration])
        await services.publisher.check_queues([integration])

    return check


def _table_check(services: Services, table: str, key: str) -> Callable[[], Awaitable[Any]]:
    async def check() -> None:
        await services.aws.dynamodb.get_item(
            TableName=table,
            Key={key: {"S": PROBE_KEY}},
            ProjectionExpression="#k",
            ExpressionAttributeNames={"#k": key},
        )

    return check


async def _bounded(check: Awaitable[Any], seconds: float) -> str | None:
    """``None`` if ``check`` succeeded within ``seconds``, else what went wrong."""
    try:
        async with asyncio.timeout(seconds):
            await check
    except TimeoutError:
        return f"no answer within {seconds:g} s"
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return None
