"""The ingest served by uvicorn on loopback, wired to a fresh stage on the moto server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import httpx
import pytest

from billing_testing.queues import QueueReader
from ingest.app import create_app
from lovia_billing import IngestSettings
from lovia_billing.topology import Topology

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
