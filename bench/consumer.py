"""Benchmark of the consumer runtime against the local AWS stand-in (moto), loopback only.

    python bench/consumer.py [--messages 1000] [--groups 100] [--latency 0.05] [--concurrency 32]

Starts its own moto server on a free loopback port, fills one FIFO queue with N events spread over G
message groups, drains it through the real runtime (idempotency claims, ledger writes, batched
deletes) with a handler that only sleeps ``latency``, and prints messages/s against the theoretical
bound ``min(concurrency, G) / latency``. In the same run it refills the queue and measures the
stand-in's own ceiling: bare ReceiveMessage + DeleteMessageBatch with no handler and no DynamoDB.
Bounded: at most ``--messages`` messages and ``--max-seconds`` per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from typing import Any

from billing_sandboxes.aws import start_aws_stand_in
from billing_testing.servers import free_port
from lovia_billing import ConsumerSettings, CustomerUpserted, Integration, Topology
from lovia_billing.aws import open_aws_clients
from lovia_billing.consumer import HandlerContext, IntegrationApp, open_consumer
from lovia_billing.provision import provision
from lovia_billing.topology import handled_by

REGION = "ap-southeast-1"
INTEGRATION = Integration.ERPNEXT


def _events(messages: int, groups: int, round_: int) -> list[CustomerUpserted]:
    return [
        CustomerUpserted.create(
            customer_id=f"cus_{i % groups:04d}",
            request_key=f"r{round_}-{i:06d}",
            email=f"c{i % groups}@example.com",
            name="Bench",
        )
        for i in range(messages)
    ]


async def _fill(sqs: Any, url: str, events: list[CustomerUpserted]) -> float:
    """Send in order, 10 a batch; returns messages/s (the stand-in's send rate)."""
    started = time.perf_counter()
    for start in range(0, len(events), 10):
        batch = events[start : start + 10]
        entries: Any = [
            {
                "Id": str(n),
                "MessageBody": event.body(),
                "MessageGroupId": event.customer_id,
                "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": "bench"}},
            }
            for n, event in enumerate(batch)
        ]
        response = await sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if response.get("Failed"):
            raise RuntimeError(f"send failed: {response['Failed']}")
    return len(events) / (time.perf_counter() - started)


async def _drain_runtime(
    settings: ConsumerSettings, latency: float, messages: int, max_seconds: float
) -> float:
    async def handler(event: Any, ctx: HandlerContext) -> None:  # noqa: ARG001 - the bench only waits
        await asyncio.sleep(latency)

    app = IntegrationApp(INTEGRATION, dict.fromkeys(handled_by(INTEGRATION), handler))
    async with open_consumer(app, settings) as consumer:
        started = time.perf_counter()
        task = asyncio.create_task(consumer.run_until_stopped())
        deadline = started + max_seconds
        while consumer.metrics.totals["processed"] < messages and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # polling a counter: cheaper than an event per message
        elapsed = time.perf_counter() - started
        done = consumer.metrics.totals["processed"]
        consumer.stop()
        await task
    if done < messages:
        print(f"  runtime: only {done}/{messages} within {max_seconds:.0f} s")
    return done / elapsed


async def _drain_raw(sqs: Any, url: str, messages: int, pollers: int, max_seconds: float) -> float:
    """The stand-in's ceiling: receive 10, delete them in one batch, no handler, no DynamoDB."""
    deleted = 0
    started = time.perf_counter()
    deadline = started + max_seconds

    async def poll() -> None:
        nonlocal deleted
        while deleted < messages and time.perf_counter() < deadline:
            response = await sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            received = response.get("Messages", [])
            if received:
                entries: Any = [
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)
                ]
                await sqs.delete_message_batch(QueueUrl=url, Entries=entries)
                deleted += len(received)

    await asyncio.gather(*(poll() for _ in range(pollers)))
    return deleted / (time.perf_counter() - started)


async def bench(args: argparse.Namespace) -> None:
    stage = f"bench{os.getpid()}"
    topology = Topology(stage)
    await asyncio.to_thread(provision, topology, region=REGION)
    settings = ConsumerSettings(
        billing_stage=stage,
        consumer_concurrency=args.concurrency,
        consumer_pollers=args.pollers,
        consumer_wait_seconds=1,
        log_level="WARNING",
    )
    async with open_aws_clients(REGION) as clients:
        url = (await clients.sqs.get_queue_url(QueueName=topology.queue_name(INTEGRATION)))["QueueUrl"]
        send_rate = await _fill(clients.sqs, url, _events(args.messages, args.groups, 1))
        runtime = await _drain_runtime(settings, args.latency, args.messages, args.max_seconds)
        # A queue of its own, so nothing the runtime left behind (e.g. a cut-short receive) interferes.
        raw_url = (await clients.sqs.get_queue_url(QueueName=topology.queue_name(Integration.MAUTIC)))[
            "QueueUrl"
        ]
        await _fill(clients.sqs, raw_url, _events(args.messages, args.groups, 2))
        raw = await _drain_raw(clients.sqs, raw_url, args.messages, args.pollers, args.max_seconds)
        await _fill(clients.sqs, url, _events(args.messages, args.groups, 3))
        runtime_zero = await _drain_runtime(settings, 0.0, args.messages, args.max_seconds)

    bound = min(args.concurrency, args.groups) / args.latency
    ceiling = min(bound, raw)
    print(
        f"consumer runtime: {args.messages} messages, {args.groups} groups, "
        f"latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, pollers {args.pollers}"
    )
    print(f"  stand-in send rate (fill):        {send_rate:8.1f} msg/s")
    print(f"  runtime drain rate:               {runtime:8.1f} msg/s")
    print(f"  theoretical bound min(c,G)/lat:   {bound:8.1f} msg/s   ratio {runtime / bound:.2f}")
    print(f"  stand-in raw receive+delete:      {raw:8.1f} msg/s")
    print(f"  runtime, handler latency 0:       {runtime_zero:8.1f} msg/s   (+ 4 DynamoDB calls a message)")
    if raw < bound:
        print(f"  the stand-in's own ceiling is below the bound: ratio against it {runtime / ceiling:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.05, help="handler seconds")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pollers", type=int, default=1)
    parser.add_argument("--max-seconds", type=float, default=120.0, help="bound on each phase")
    args = parser.parse_args()
    if args.messages > 20_000:
        sys.exit("at most 20000 messages: moto's FIFO costs grow with the queue length")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    port = free_port()
    server = start_aws_stand_in("127.0.0.1", port)
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "POWERTOOLS_METRICS_DISABLED": "true",  # keep EMF lines out of the report
        }
    )
    try:
        asyncio.run(bench(args))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
