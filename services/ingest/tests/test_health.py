"""Readiness covers everything the ingest writes to; liveness covers nothing but the process."""

from __future__ import annotations

import time
from typing import Any

import boto3
import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import CUSTOMER
from lovia_billing.provision import provision
from lovia_billing.topology import Integration, Topology

REGION = "ap-southeast-1"


def test_ready_names_every_dependency(client: httpx.Client, topology: Topology) -> None:
    ready = client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "queues": [topology.queue_name(i) for i in Integration],
        "tables": [topology.ledger_table, topology.idempotency_table],
    }


@pytest.mark.parametrize("table", ["ledger", "idempotency"])
def test_a_missing_table_is_503_naming_it_while_liveness_stays_200(
    client: httpx.Client, api: httpx.Client, topology: Topology, table: str
) -> None:
    name = topology.ledger_table if table == "ledger" else topology.idempotency_table
    dynamodb: Any = boto3.client("dynamodb", region_name=REGION)
    dynamodb.delete_table(TableName=name)

    started = time.monotonic()
    ready = client.get("/health/ready")
    assert time.monotonic() - started < 2.5  # READY_TIMEOUT_SECONDS (2 s) at most
    assert ready.status_code == 503
    error = ready.json()["error"]
    assert error["code"] == "not_ready"
    assert name in error["message"]
    (failed,) = error["details"]
    assert failed["field"] == f"table {name}"
    assert "ResourceNotFoundException" in failed["message"]
    assert client.get("/").status_code == 200

    # A write needing that table is refused as unavailable (503, retry), not an internal error.
    headers = {"Idempotency-Key": "while-the-table-is-gone"}
    write = api.put("/v1/customers/cus_gone", json=CUSTOMER, headers=headers)
    assert write.status_code == 503, write.text
    assert write.json()["error"]["code"] == "unavailable"
    assert write.headers["retry-after"] == "5"

    provision(topology, region=REGION)  # the table is back (empty)
    assert client.get("/health/ready").status_code == 200


def test_a_missing_queue_is_503_naming_it(
    client: httpx.Client, topology: Topology, queues: QueueReader
) -> None:
    queues.sqs.delete_queue(QueueUrl=queues.url("chartmogul"))
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    (failed,) = ready.json()["error"]["details"]
    assert failed["field"] == f"queue {topology.queue_name('chartmogul')}"
    assert "NonExistentQueue" in failed["message"]
