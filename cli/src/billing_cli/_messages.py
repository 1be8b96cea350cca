"""Taking messages off a queue for a while and giving them back (peek), in SQS's own terms.

A FIFO queue hands out a message group's messages only while none of them is in flight, so taking
messages with a visibility timeout and receiving again returns other groups; repeated until a
receive comes back empty, that is every group's head batch. Giving them back is a visibility of 0.
Every receive counts towards ``ApproximateReceiveCount``, which is why source queues are never
peeked here (the count decides when a message is dead-lettered); DLQs have no redrive policy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from lovia_billing.consumer import Delivery

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

SQS_BATCH_LIMIT = 10
#: How long messages taken by a command stay invisible if the command dies without giving them back.
HOLD_SECONDS = 120


async def receive(
    sqs: SQSClient, url: str, *, visibility: int, limit: int = SQS_BATCH_LIMIT
) -> list[Delivery]:
    request: Any = {
        "QueueUrl": url,
        "MaxNumberOfMessages": min(limit, SQS_BATCH_LIMIT),
        "WaitTimeSeconds": 0,
        "VisibilityTimeout": visibility,
        "AttributeNames": ["All"],
        "MessageSystemAttributeNames": ["All"],
        "MessageAttributeNames": ["All"],
    }
    response = await sqs.receive_message(**request)
    return [Delivery.from_sqs(message) for message in response.get("Messages", [])]


async def take(
    sqs: SQSClient, url: str, *, limit: int | None = None, visibility: int = HOLD_SECONDS
) -> list[Delivery]:
    """Receive until empty (or ``limit``), holding what was received; grouped, in SQS's order.

    Within a group, SQS hands messages out in order, so the receive order is kept (a stable sort by
    group only). ``SequenceNumber`` is not used: moto makes it random digits whenever a message was
    sent with an explicit ``MessageDeduplicationId``, as dead-lettered and redriven messages are.
    """
    taken: list[Delivery] = []
    while limit is None or len(taken) < limit:
        room = SQS_BATCH_LIMIT if limit is None else limit - len(taken)
        batch = await receive(sqs, url, visibility=visibility, limit=room)
        if not batch:
            break
        taken.extend(batch)
    return sorted(taken, key=lambda d: d.group_id)


async def give_back(sqs: SQSClient, url: str, deliveries: Sequence[Delivery]) -> None:
    """Make messages visible again now (best effort: if this fails they return after the hold)."""
    for start in range(0, len(deliveries), SQS_BATCH_LIMIT):
        chunk = deliveries[start : start + SQS_BATCH_LIMIT]
        entries: Any = [
            {"Id": str(i), "ReceiptHandle": d.receipt_handle, "VisibilityTimeout": 0}
            for i, d in enumerate(chunk)
        ]
        await sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)


@asynccontextmanager
async def peeking(sqs: SQSClient, url: str, *, limit: int | None = None) -> AsyncIterator[list[Delivery]]:
    """The messages a queue holds, given back on exit however the block ends."""
    taken = await take(sqs, url, limit=limit)
    try:
        yield taken
    finally:
        await give_back(sqs, url, taken)
