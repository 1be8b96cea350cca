"""One received SQS message, with the system and message attributes the runtime uses (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: System attributes requested with every receive.
SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "MessageGroupId",
    "SequenceNumber",
    "ApproximateFirstReceiveTimestamp",
    "SentTimestamp",
)


@dataclass(frozen=True)
class Delivery:
    """One delivery of one message (a redelivery has a new receipt handle and a higher count)."""

    message_id: str
    receipt_handle: str
    body: str
    group_id: str
    sequence_number: int
    receive_count: int
    sent_at: float  # epoch seconds
    first_received_at: float
    attributes: dict[str, str]

    @classmethod
    def from_sqs(cls, message: Any) -> Delivery:
        system = message.get("Attributes", {})
        attributes = {
            name: str(value.get("StringValue", ""))
            for name, value in message.get("MessageAttributes", {}).items()
            if "StringValue" in value
        }
        return cls(
            message_id=message["MessageId"],
            receipt_handle=message["ReceiptHandle"],
            body=message.get("Body", ""),
            group_id=system.get("MessageGroupId", ""),
            sequence_number=int(system.get("SequenceNumber", "0") or 0),
            receive_count=int(system.get("ApproximateReceiveCount", "1")),
            sent_at=int(system.get("SentTimestamp", "0")) / 1000,
            first_received_at=int(system.get("ApproximateFirstReceiveTimestamp", "0")) / 1000,
            attributes=attributes,
        )

    @property
    def correlation_id(self) -> str | None:
        return self.attributes.get("correlation_id")
