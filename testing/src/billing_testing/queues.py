"""Read what is on a stage's queues (boto3 over HTTP to the stand-in), for assertions."""

from __future__ import annotations

from typing import Any

import boto3

from lovia_billing.topology import Integration, Topology


class QueueReader:
    def __init__(self, topology: Topology, region: str = "ap-southeast-1") -> None:
        self.topology = topology
        self.sqs: Any = boto3.client("sqs", region_name=region)
        self._urls: dict[str, str] = {}

    def url(self, integration: str, *, dlq: bool = False) -> str:
        name = self.topology.dlq_name(integration) if dlq else self.topology.queue_name(integration)
        if name not in self._urls:
            self._urls[name] = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[name]

    def count(self, integration: str, *, dlq: bool = False) -> int:
        """Visible plus in-flight messages."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url(integration, dlq=dlq),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def total(self) -> int:
        return sum(self.count(i) + self.count(i, dlq=True) for i in Integration)

    def peek(self, integration: str, *, dlq: bool = False) -> list[dict[str, Any]]:
        """Up to 10 messages, left visible (visibility timeout 0)."""
        messages: list[dict[str, Any]] = self.sqs.receive_message(
            QueueUrl=self.url(integration, dlq=dlq),
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        ).get("Messages", [])
        return messages
