"""The ingest served by uvicorn on loopback, wired to a fresh stage on the moto server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from billing_testing.factories import invoice_story
from billing_testing.ledger import done_everywhere, record
from billing_testing.queues import QueueReader
from ingest.app import create_app
from lovia_billing import IngestSettings
from lovia_billing.ledger import IntegrationStatus
from lovia_billing.topology import Integration, Topology

API_KEY = "test-api-key"
OLD_API_KEY = "test-api-key-old"
TOKEN = "test-callback-token"
OLD_TOKEN = "test-callback-token-old"


@pytest.fixture
def tokens() -> dict[str, str]:
    return {"api": API_KEY, "api_old": OLD_API_KEY, "callback": TOKEN, "callback_old": OLD_TOKEN}


@pytest.fixture
def ingest_url(topology: Topology, serve_asgi: Callable[[Any], str]) -> str:
    settings = IngestSettings(
        billing_stage=topology.stage,
        billing_api_keys=f"{API_KEY},{OLD_API_KEY}",
        xendit_callback_token=f"{TOKEN},{OLD_TOKEN}",
        max_body_bytes=16 * 1024,
    )
    return serve_asgi(create_app(settings))


@pytest.fixture
def client(ingest_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ingest_url, timeout=10) as http:
        yield http


@pytest.fixture
def api(ingest_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=ingest_url, timeout=10, headers={"Authorization": f"Bearer {API_KEY}"}
    ) as http:
        yield http


@pytest.fixture
def queues(topology: Topology) -> QueueReader:
    return QueueReader(topology)


@pytest.fixture
def ledger_items(topology: Topology) -> Callable[[], list[dict[str, Any]]]:
    """Every item of the stage's ledger table (a fresh stage per test), read over HTTP."""
    dynamodb: Any = boto3.client("dynamodb", region_name="ap-southeast-1")

    def scan() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = dynamodb.scan(TableName=topology.ledger_table, ConsistentRead=True)[
            "Items"
        ]
        return items

    return scan


@pytest.fixture
def paid_and_dead(topology: Topology) -> dict[str, Any]:
    """inv_paid: paid and booked everywhere; inv_dead: issued, dead in ERPNext, ChartMogul retrying."""
    paid = invoice_story("inv_paid", "cus_1", xendit_invoice_id="xinv_paid", payment_id="py-paid")
    dead = invoice_story("inv_dead", "cus_1", xendit_invoice_id="xinv_dead")
    outcomes: dict[str, Any] = {e.event_id: done_everywhere(e) for e in [*paid, dead[0]]}
    outcomes[dead[1].event_id] = {
        Integration.ERPNEXT: (IntegrationStatus.DEAD, "PermanentError: ERPNext 417 Customer cus_1 not found"),
        Integration.CHARTMOGUL: (IntegrationStatus.RETRYING, "RateLimited: 429"),
        Integration.MAUTIC: (IntegrationStatus.DONE, None),
    }
    record(topology, paid, outcomes, correlation_id="req-paid")
    record(topology, dead, outcomes, correlation_id="req-dead")
    return {"paid": paid, "dead": dead}
