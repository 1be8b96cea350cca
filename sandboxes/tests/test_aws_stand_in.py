"""The AWS stand-in behaves as SQS does where our tests depend on it."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import moto.sqs.models

from billing_sandboxes.aws import set_dedup_window


def _fifo(name: str) -> tuple[Any, str]:
    sqs = boto3.client("sqs", region_name="ap-southeast-1")
    url = sqs.create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )
    return sqs, url["QueueUrl"]


def test_long_poll_gets_the_groups_next_message_as_soon_as_the_previous_is_deleted(aws_endpoint: str) -> None:
    sqs, url = _fifo("standin-longpoll.fifo")
    sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]

    def delete_then_send() -> None:
        time.sleep(0.5)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
        time.sleep(0.5)
        sqs.send_message(QueueUrl=url, MessageBody="second", MessageGroupId="g")

    threading.Thread(target=delete_then_send, daemon=True).start()
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10).get("Messages", [])
    waited = time.monotonic() - started
    assert [m["Body"] for m in got] == ["second"]
    assert waited < 5, f"the poll waited {waited:.1f} s: the group stayed locked after the delete"


def test_group_order_holds_while_a_message_is_in_flight(aws_endpoint: str) -> None:
    sqs, url = _fifo("standin-order.fifo")
    for body in ("a1", "a2"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="a")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    blocked = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in first] == ["a1"]
    assert blocked == []  # a2 waits while a1 is in flight, as on SQS


def test_dedup_window_is_settable_for_tests(aws_endpoint: str) -> None:
    saved = moto.sqs.models.DEDUPLICATION_TIME_IN_SECONDS
    try:
        set_dedup_window(1)
        sqs, url = _fifo("standin-dedup.fifo")
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        time.sleep(1.1)
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "2"
    finally:
        set_dedup_window(saved)


def test_fifo_sequence_numbers_increase_whatever_the_deduplication(aws_endpoint: str) -> None:
    sqs, url = _fifo("standin-sequence.fifo")
    sqs.send_message(QueueUrl=url, MessageBody="content-dedup", MessageGroupId="g")
    sqs.send_message(
        QueueUrl=url, MessageBody="explicit", MessageGroupId="g", MessageDeduplicationId="redrive-1"
    )
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "batched", "MessageGroupId": "g"}]
    )
    numbers = []
    for _ in range(3):
        (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["SequenceNumber"], WaitTimeSeconds=1)[
            "Messages"
        ]
        numbers.append(int(message["Attributes"]["SequenceNumber"]))
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == 3


def test_a_timed_out_batch_comes_back_in_order(aws_endpoint: str) -> None:
    sqs, url = _fifo("standin-timeout.fifo")
    for body in ("a1", "a2", "a3"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=1)["Messages"]
    time.sleep(1.3)  # the worker that held them died: the whole batch times out
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
    assert [m["Body"] for m in first] == ["a1", "a2", "a3"]
    assert [m["Body"] for m in again][:1] == ["a1"]  # plain moto gave ["a3"]
