"""Create the queues, DLQs and tables of a stage's topology on the local stand-in (boto3, sync).

In AWS the CDK app creates the same resources from the same topology; this is for the local stack
and the tests. Idempotent: existing resources are kept (``purge=True`` empties the queues, because
moto's FIFO sends slow down as queues grow).
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
from botocore.exceptions import ClientError

from lovia_billing.ledger_index import LEDGER_INDEXES, LedgerIndex
from lovia_billing.topology import Topology


def ensure_queues(topology: Topology, *, region: str, purge: bool = False) -> dict[str, str]:
    """Create every queue and DLQ with its redrive policy; return ``{name: url}``."""
    sqs: Any = boto3.client("sqs", region_name=region)
    urls: dict[str, str] = {}
    for spec in topology.queues():
        dlq_url = sqs.create_queue(
            QueueName=spec.dlq_name,
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "true",
                "MessageRetentionPeriod": str(spec.dlq_retention_seconds),
                "VisibilityTimeout": str(spec.visibility_timeout),
            },
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        url = sqs.create_queue(
            QueueName=spec.name,
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "true",
                "MessageRetentionPeriod": str(spec.retention_seconds),
                "VisibilityTimeout": str(spec.visibility_timeout),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.max_receive_count)}
                ),
            },
        )["QueueUrl"]
        urls[spec.name], urls[spec.dlq_name] = url, dlq_url
        if purge:
            for queue_url in (url, dlq_url):
                sqs.purge_queue(QueueUrl=queue_url)
    return urls


def ensure_tables(topology: Topology, *, region: str) -> None:
    """Create the ledger (with its indexes) and idempotency tables (on-demand, TTL on ``expires_at``)."""
    dynamodb: Any = boto3.client("dynamodb", region_name=region)
    for table, key in ((topology.ledger_table, "event_id"), (topology.idempotency_table, "pk")):
        indexes = LEDGER_INDEXES if table == topology.ledger_table else ()
        try:
            dynamodb.create_table(
                TableName=table,
                AttributeDefinitions=_attribute_definitions(key, indexes),
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
                **({"GlobalSecondaryIndexes": [_index_spec(i) for i in indexes]} if indexes else {}),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
            _add_missing_indexes(dynamodb, table, key, indexes)
            continue
        dynamodb.get_waiter("table_exists").wait(TableName=table)
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )


def _attribute_definitions(key: str, indexes: tuple[LedgerIndex, ...]) -> list[dict[str, str]]:
    names = dict.fromkeys([key, *(n for i in indexes for n in (i.partition, i.sort))])
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def _index_spec(index: LedgerIndex) -> dict[str, Any]:
    return {
        "IndexName": index.name,
        "KeySchema": [
            {"AttributeName": index.partition, "KeyType": "HASH"},
            {"AttributeName": index.sort, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }


def _add_missing_indexes(dynamodb: Any, table: str, key: str, indexes: tuple[LedgerIndex, ...]) -> None:
    """A table made before an index existed gets it (DynamoDB adds one index per update)."""
    for index in indexes:
        present = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        if any(existing["IndexName"] == index.name for existing in present):
            continue
        dynamodb.update_table(
            TableName=table,
            AttributeDefinitions=_attribute_definitions(key, (index,)),
            GlobalSecondaryIndexUpdates=[{"Create": _index_spec(index)}],
        )
        _wait_for_index(dynamodb, table, index.name)


def _wait_for_index(dynamodb: Any, table: str, name: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        present = dynamodb.describe_table(TableName=table)["Table"].get("GlobalSecondaryIndexes", [])
        if any(i["IndexName"] == name and i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in present):
            return
        time.sleep(0.5)
    raise TimeoutError(f"index {name} of {table} is not active after {timeout:.0f} s")


def provision(topology: Topology, *, region: str, purge: bool = False) -> dict[str, str]:
    """Everything a stage needs locally; returns the queue URLs by name."""
    ensure_tables(topology, region=region)
    return ensure_queues(topology, region=region, purge=purge)
