"""Create the queues, DLQs and tables of a stage's topology on the local stand-in (boto3, sync).

In AWS the CDK app creates the same resources from the same topology; this is for the local stack
and the tests. Idempotent: existing resources are kept (``purge=True`` empties the queues, because
moto's FIFO sends slow down as queues grow).
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

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
    """Create the ledger and idempotency tables (on-demand, TTL on ``expires_at``)."""
    dynamodb: Any = boto3.client("dynamodb", region_name=region)
    for table, key in ((topology.ledger_table, "event_id"), (topology.idempotency_table, "pk")):
        try:
            dynamodb.create_table(
                TableName=table,
                AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceInUseException":
                raise
            continue
        dynamodb.get_waiter("table_exists").wait(TableName=table)
        dynamodb.update_time_to_live(
            TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
        )


def provision(topology: Topology, *, region: str, purge: bool = False) -> dict[str, str]:
    """Everything a stage needs locally; returns the queue URLs by name."""
    ensure_tables(topology, region=region)
    return ensure_queues(topology, region=region, purge=purge)
