"""The AWS stand-in for benchmarks: start it as a process, measure its own ceiling, count requests.

Shared by the ``bench/*.py`` commands (run as scripts, so ``bench/`` is on ``sys.path``). Every rate
is measured with aiobotocore, the client our services use, over loopback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import psutil  # type: ignore[import-untyped]  # no stubs installed
from aiobotocore.session import get_session

from billing_testing.servers import free_port, wait_for_http
from lovia_billing.aws import client_config

REGION = "ap-southeast-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


@dataclass
class StandIn:
    """One stand-in process on a free loopback port."""

    process: subprocess.Popen[bytes]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            **CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_stand_in(*, plain: bool = False, env: dict[str, str] | None = None) -> StandIn:
    """``python -m billing_sandboxes aws`` (``plain``: without the hot-path fixes)."""
    port = free_port()
    args = [sys.executable, "-m", "billing_sandboxes", "aws", "--port", str(port)]
    process = subprocess.Popen(
        [*args, *(["--plain-moto"] if plain else [])], env={**os.environ, **(env or {})}
    )
    stand_in = StandIn(process, f"http://127.0.0.1:{port}")
    try:
        wait_for_http(stand_in.url)
    except BaseException:
        stand_in.stop()
        raise
    return stand_in


async def drive(count: int, concurrency: int, call: Callable[[int], Awaitable[Any]]) -> float:
    """Run ``call(0..count-1)`` on ``concurrency`` workers; return calls per second."""
    next_index = iter(range(count))

    async def worker() -> None:
        for i in next_index:
            await call(i)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return count / (time.perf_counter() - started)


@dataclass
class Ceiling:
    """The stand-in's own rates (messages or operations per second) and its CPU per request."""

    send: float
    batch_send: float
    drain: float
    put: float
    get: float
    update: float
    cpu_ms_per_request: float

    def lines(self) -> list[str]:
        return [
            f"SendMessage {self.send:.0f}/s, SendMessageBatch {self.batch_send:.0f} msgs/s, "
            f"Receive(10)+DeleteBatch {self.drain:.0f} msgs/s",
            f"PutItem (conditional) {self.put:.0f}/s, GetItem (consistent) {self.get:.0f}/s, "
            f"UpdateItem (conditional) {self.update:.0f}/s",
            f"stand-in CPU {self.cpu_ms_per_request:.2f} ms/request",
        ]


async def measure_ceiling(url: str, pid: int, *, messages: int = 1000, concurrency: int = 16) -> Ceiling:
    """The stand-in at ``url`` (process ``pid``) alone: FIFO sends of 1 KB over 100 groups, batch
    sends, receive + delete; conditional DynamoDB writes and consistent reads."""
    session = get_session()
    process = psutil.Process(pid)

    def cpu_seconds() -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    kwargs: Any = {"region_name": REGION, "endpoint_url": url, "config": client_config()} | {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }
    async with (
        session.create_client("sqs", **kwargs) as sqs,
        session.create_client("dynamodb", **kwargs) as dynamodb,
    ):
        tag = uuid.uuid4().hex[:8]
        queue = (
            await sqs.create_queue(
                QueueName=f"ceiling-{tag}.fifo",
                Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
            )
        )["QueueUrl"]
        body = "x" * 1000
        cpu_before, requests = cpu_seconds(), 0

        async def send(i: int) -> None:
            await sqs.send_message(QueueUrl=queue, MessageBody=f"{i}:{body}", MessageGroupId=f"g{i % 100}")

        send_rate = await drive(messages, concurrency, send)
        requests += messages

        async def send_batch(i: int) -> None:
            entries: Any = [
                {"Id": str(n), "MessageBody": f"b{i}-{n}:{body}", "MessageGroupId": f"g{(i * 10 + n) % 100}"}
                for n in range(10)
            ]
            await sqs.send_message_batch(QueueUrl=queue, Entries=entries)

        batches = messages // 10
        batch_rate = 10 * await drive(batches, concurrency, send_batch)
        requests += batches

        total, drained, calls = messages + batches * 10, 0, 0
        started = time.perf_counter()

        async def drain() -> None:
            nonlocal drained, calls
            while drained < total and time.perf_counter() - started < 120:
                got = (
                    await sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                ).get("Messages", [])
                calls += 1
                if got:
                    entries: Any = [
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(got)
                    ]
                    await sqs.delete_message_batch(QueueUrl=queue, Entries=entries)
                    calls += 1
                    drained += len(got)

        await asyncio.gather(*(drain() for _ in range(concurrency)))
        drain_rate = drained / (time.perf_counter() - started)
        requests += calls
        await sqs.delete_queue(QueueUrl=queue)

        table = f"ceiling-{tag}"
        await dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )

        async def put(i: int) -> None:
            await dynamodb.put_item(
                TableName=table,
                Item={"pk": {"S": f"k{i}"}, "status": {"S": "in_progress"}, "expires_at": {"N": "1"}},
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": "0"}},
            )

        async def get(i: int) -> None:
            await dynamodb.get_item(TableName=table, Key={"pk": {"S": f"k{i}"}}, ConsistentRead=True)

        async def update(i: int) -> None:
            await dynamodb.update_item(
                TableName=table,
                Key={"pk": {"S": f"k{i}"}},
                UpdateExpression="SET #s = :done",
                ConditionExpression="#s = :progress",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":done": {"S": "done"}, ":progress": {"S": "in_progress"}},
            )

        operations = max(100, messages // 2)
        put_rate = await drive(operations, concurrency, put)
        get_rate = await drive(operations, concurrency, get)
        update_rate = await drive(operations, concurrency, update)
        requests += 3 * operations
        cpu = cpu_seconds() - cpu_before
        await dynamodb.delete_table(TableName=table)
    return Ceiling(send_rate, batch_rate, drain_rate, put_rate, get_rate, update_rate, 1000 * cpu / requests)


def target_line(name: str, figure: str, target: str, met: bool) -> str:
    """The one line per target every bench ends with."""
    return f"{name}: {figure} (target {target}): {'met' if met else 'not met'}"
