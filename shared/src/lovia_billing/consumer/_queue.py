"""The consumer's SQS adapter: receive, change visibility, release, and batched deletes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from lovia_billing.consumer._message import SYSTEM_ATTRIBUTES, Delivery

if TYPE_CHECKING:
    from types_aiobotocore_sqs import SQSClient

SQS_BATCH_LIMIT = 10
#: Message attribute of a dead-lettered message: when a consumer first received it (ISO 8601, UTC).
FIRST_RECEIVED_ATTRIBUTE = "first_received_at"
#: Receipt-handle errors that retrying cannot fix (the message was redelivered or is gone).
_STALE_HANDLE_CODES = frozenset(
    {
        "ReceiptHandleIsInvalid",
        "InvalidParameterValue",
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
    }
)


def _iso(epoch_seconds: float) -> str | None:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="seconds") if epoch_seconds else None


def _chunks(items: Sequence[Delivery], size: int = SQS_BATCH_LIMIT) -> list[Sequence[Delivery]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class QueueClient:
    """One queue, one long-lived aiobotocore client."""

    def __init__(self, sqs: SQSClient, queue_url: str, logger: Logger) -> None:
        self._sqs = sqs
        self.url = queue_url
        self._log = logger

    async def receive(self, *, max_messages: int, wait_seconds: int, visibility: int) -> list[Delivery]:
        request: Any = {
            "QueueUrl": self.url,
            "MaxNumberOfMessages": max_messages,
            "WaitTimeSeconds": wait_seconds,
            "VisibilityTimeout": visibility,
            "MessageSystemAttributeNames": list(SYSTEM_ATTRIBUTES),
            "AttributeNames": list(SYSTEM_ATTRIBUTES),  # the older name, still read by some endpoints
            "MessageAttributeNames": ["All"],
        }
        response = await self._sqs.receive_message(**request)
        return [Delivery.from_sqs(message) for message in response.get("Messages", [])]

    async def change_visibility(self, delivery: Delivery, seconds: int) -> bool:
        """Set the message's visibility from now; False if the receipt handle no longer holds it."""
        try:
            await self._sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=delivery.receipt_handle, VisibilityTimeout=seconds
            )
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            self._log.warning(
                "visibility change failed",
                extra={"message_id": delivery.message_id, "error_code": code, "visibility": seconds},
            )
            return False
        return True

    async def send_to_dead_letter(self, dlq_url: str, delivery: Delivery, reason: str) -> bool:
        """Copy a message to the DLQ (same group, attributes kept, the reason added); False on failure.

        Deduplicated on the source message id, so a retried copy is dropped by SQS while a later
        redrive (a new message) that dies again is not mistaken for a duplicate.
        """
        attributes: Any = {
            name: {"DataType": "String", "StringValue": value} for name, value in delivery.attributes.items()
        }
        attributes["dead_reason"] = {"DataType": "String", "StringValue": reason[:1000] or "unknown"}
        attributes["source_message_id"] = {"DataType": "String", "StringValue": delivery.message_id}
        attributes["source_receive_count"] = {
            "DataType": "Number",
            "StringValue": str(delivery.receive_count),
        }
        # When a consumer first received the event: kept across redrives (which carry it back), so
        # `billing dlq show` can tell how long it has been failing, not when someone last peeked.
        first_received = delivery.attributes.get(FIRST_RECEIVED_ATTRIBUTE) or _iso(delivery.first_received_at)
        if first_received:
            attributes[FIRST_RECEIVED_ATTRIBUTE] = {"DataType": "String", "StringValue": first_received}
        try:
            await self._sqs.send_message(
                QueueUrl=dlq_url,
                MessageBody=delivery.body,
                MessageGroupId=delivery.group_id or "unknown",
                MessageDeduplicationId=delivery.message_id,
                MessageAttributes=attributes,
            )
        except (ClientError, BotoCoreError) as exc:
            self._log.warning(
                "dead-letter send failed", extra={"message_id": delivery.message_id, "error": str(exc)}
            )
            return False
        return True

    async def release(self, deliveries: Sequence[Delivery]) -> None:
        """Make messages visible again now (not processed: order and retries are SQS's again)."""
        for chunk in _chunks(deliveries):
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": d.receipt_handle, "VisibilityTimeout": 0}
                for i, d in enumerate(chunk)
            ]
            try:
                response = await self._sqs.change_message_visibility_batch(QueueUrl=self.url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                self._log.warning("release failed", extra={"messages": len(chunk), "error": str(exc)})
                continue
            for failure in response.get("Failed", []):
                self._log.warning(
                    "release failed",
                    extra={
                        "message_id": chunk[int(failure["Id"])].message_id,
                        "error_code": failure.get("Code"),
                    },
                )


class DeleteBatcher:
    """Deletes acknowledged messages with ``DeleteMessageBatch``, several batches in flight at once.

    ``add`` never waits for SQS: the next message of a group may start while the previous one's
    delete is on its way (SQS does not hand out the group's later messages to anyone else meanwhile,
    because this worker holds them). Failed entries are retried; stale receipt handles are logged
    (the message will come back and the idempotency store acknowledges it with no effect).

    Batches fill by themselves: while a delete is on its way, a batch of fewer than ten waits for it
    to return (or for ten). Idle, a delete goes at once; busy, they go ten at a time (a quarter of
    the delete requests, ``bench/README.md``), with no timer to tune.
    """

    def __init__(
        self, queue: QueueClient, sqs: SQSClient, logger: Logger, *, parallel: int = 4, attempts: int = 3
    ):
        self._queue = queue
        self._sqs = sqs
        self._log = logger
        self._pending: list[Delivery] = []
        self._wakeup = asyncio.Event()
        self._slots = asyncio.Semaphore(parallel)
        self._attempts = attempts
        self._flushes: set[asyncio.Task[None]] = set()
        self._closing = False
        self.deleted = 0

    def add(self, delivery: Delivery) -> None:
        self._pending.append(delivery)
        self._wakeup.set()

    async def run(self) -> None:
        """Send batches until ``close`` was called and everything has gone; one background task."""
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                if len(self._pending) < SQS_BATCH_LIMIT and self._flushes and not self._closing:
                    break  # a delete is on its way: this batch fills until it returns
                await self._slots.acquire()
                batch, self._pending = self._pending[:SQS_BATCH_LIMIT], self._pending[SQS_BATCH_LIMIT:]
                task = asyncio.create_task(self._flush(batch))
                self._flushes.add(task)
                task.add_done_callback(self._flushed)
            if self._closing and not self._pending:
                break
        await asyncio.gather(*list(self._flushes), return_exceptions=True)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushes.discard(task)
        self._wakeup.set()  # what waited for this delete may go now

    def close(self) -> None:
        """Ask ``run`` to send what is pending and return."""
        self._closing = True
        self._wakeup.set()

    async def _flush(self, batch: list[Delivery]) -> None:
        try:
            await self._delete(batch)
        finally:
            self._slots.release()

    async def _delete(self, batch: list[Delivery]) -> None:
        remaining = batch
        for attempt in range(self._attempts):
            if attempt:
                await asyncio.sleep(0.1 * 2**attempt)
            entries: Any = [
                {"Id": str(i), "ReceiptHandle": d.receipt_handle} for i, d in enumerate(remaining)
            ]
            try:
                response = await self._sqs.delete_message_batch(QueueUrl=self._queue.url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                self._log.warning(
                    "delete batch failed", extra={"messages": len(remaining), "error": str(exc)}
                )
                continue
            retry: list[Delivery] = []
            for failure in response.get("Failed", []):
                delivery = remaining[int(failure["Id"])]
                if failure.get("Code") in _STALE_HANDLE_CODES or failure.get("SenderFault"):
                    self._log.warning(
                        "delete refused",
                        extra={"message_id": delivery.message_id, "error_code": failure.get("Code")},
                    )
                else:
                    retry.append(delivery)
            self.deleted += len(remaining) - len(retry)
            if not retry:
                return
            remaining = retry
        self._log.error("delete gave up", extra={"message_ids": [d.message_id for d in remaining]})
