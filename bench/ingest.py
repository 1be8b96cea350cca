"""bench/ingest: invoice-paid callbacks through the running ingest vs raw SendMessage, same stand-in.

Starts its own AWS stand-in (moto server) and one ingest (one uvicorn worker) as subprocesses on
free loopback ports, then in the same run:

1. sends N distinct invoice-paid callbacks to the ingest with C concurrent clients;
2. sends N raw ``SendMessage`` calls (aiobotocore, same concurrency) straight to the stand-in,
   into a fresh stage's xendit queue of the same shape;
3. makes, raw, the same stand-in calls one accepted callback needs (ledger look-up of the
   invoice's customer, conditional ledger write, send), to tell the ingest's own overhead from
   the cost of its AWS calls on a stand-in that runs on one core.

Prints accepted/s, p50/p99 latency for each and the ratios. Bounded in count and time,
loopback only. Usage: ``python bench/ingest.py [--count 300] [--concurrency 16]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from aiobotocore.session import get_session

from billing_testing.samples import INVOICE_PAID_CALLBACK
from billing_testing.servers import free_port, wait_for_http
from lovia_billing.provision import provision
from lovia_billing.topology import Topology

REGION = "ap-southeast-1"
TOKEN = "bench-callback-token"  # noqa: S105 - a made-up local value
DEADLINE_SECONDS = 300


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _drive(
    count: int, concurrency: int, call: Callable[[int], Awaitable[bool]]
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        nonlocal failures
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            ok = await call(i)
            latencies.append(time.perf_counter() - started)
            failures += 0 if ok else 1

    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), DEADLINE_SECONDS)
    return time.perf_counter() - started, latencies, failures


def _report(name: str, elapsed: float, latencies: list[float], failures: int) -> float:
    rate = (len(latencies) - failures) / elapsed
    print(
        f"{name:<8} {len(latencies):>5} sent  {failures:>3} failed  {rate:8.1f} accepted/s  "
        f"p50 {statistics.median(latencies) * 1000:7.1f} ms  "
        f"p99 {_percentile(latencies, 0.99) * 1000:7.1f} ms"
    )
    return rate


async def _bench_ingest(url: str, count: int, concurrency: int) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def call(i: int) -> bool:
            body = {**INVOICE_PAID_CALLBACK, "id": f"bench{i:019d}", "external_id": f"inv_bench_{i}"}
            response = await client.post(
                "/webhooks/xendit/invoice",
                content=json.dumps(body),
                headers={"x-callback-token": TOKEN, "content-type": "application/json"},
            )
            return response.status_code == 200

        return _report("ingest", *await _drive(count, concurrency, call))


async def _bench_raw(topology: Topology, count: int, concurrency: int) -> float:
    async with get_session().create_client("sqs", region_name=REGION) as sqs:
        url = (await sqs.get_queue_url(QueueName=topology.queue_name("xendit")))["QueueUrl"]

        async def call(i: int) -> bool:
            body = json.dumps({**INVOICE_PAID_CALLBACK, "id": f"raw{i:020d}"}, sort_keys=True)
            await sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=f"inv_bench_{i}")
            return True

        return _report("raw sqs", *await _drive(count, concurrency, call))


async def _bench_raw_same_calls(topology: Topology, count: int, concurrency: int) -> float:
    session = get_session()
    async with (
        session.create_client("sqs", region_name=REGION) as sqs,
        session.create_client("dynamodb", region_name=REGION) as dynamodb,
    ):
        url = (await sqs.get_queue_url(QueueName=topology.queue_name("xendit")))["QueueUrl"]

        async def call(i: int) -> bool:
            body = json.dumps({**INVOICE_PAID_CALLBACK, "id": f"same{i:019d}"}, sort_keys=True)
            await dynamodb.get_item(
                TableName=topology.ledger_table, Key={"event_id": {"S": f"req-{i}"}}, ConsistentRead=True
            )
            await dynamodb.put_item(
                TableName=topology.ledger_table,
                Item={"event_id": {"S": f"evt-{i}"}, "body": {"S": body}},
                ConditionExpression="attribute_not_exists(event_id)",
            )
            await sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=f"inv_bench_{i}")
            return True

        return _report("raw 3", *await _drive(count, concurrency, call))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    count = max(1, min(args.count, 5000))

    aws_port, ingest_port = free_port(), free_port()
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "BILLING_STAGE": "benchingest",
        "PORT": str(ingest_port),
        "XENDIT_CALLBACK_TOKEN": TOKEN,
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    bin_dir = Path(sys.executable).parent
    processes = [
        subprocess.Popen([sys.executable, "-m", "billing_sandboxes", "aws", "--port", str(aws_port)], env=env)
    ]
    try:
        wait_for_http(f"http://127.0.0.1:{aws_port}")
        provision(Topology("benchingest"), region=REGION, purge=True)
        provision(Topology("benchraw"), region=REGION, purge=True)
        provision(Topology("benchsame"), region=REGION, purge=True)
        processes.append(subprocess.Popen([str(bin_dir / "billing-ingest")], env=env))
        wait_for_http(f"http://127.0.0.1:{ingest_port}/health/ready")
        print(
            f"{count} requests, concurrency {args.concurrency}, moto on :{aws_port}, ingest on :{ingest_port}"
        )
        ingest_rate = asyncio.run(_bench_ingest(f"http://127.0.0.1:{ingest_port}", count, args.concurrency))
        raw_rate = asyncio.run(_bench_raw(Topology("benchraw"), count, args.concurrency))
        same_rate = asyncio.run(_bench_raw_same_calls(Topology("benchsame"), count, args.concurrency))
        print(f"ratio ingest/raw sqs: {ingest_rate / raw_rate:.2f} (target >= 0.8)")
        print(f"ratio ingest/raw 3 calls: {ingest_rate / same_rate:.2f} (the ingest's own overhead)")
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
