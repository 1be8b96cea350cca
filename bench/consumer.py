"""Benchmark of the consumer runtime against the AWS stand-in, loopback only.

    python bench/consumer.py [--messages 1000] [--groups 100] [--latency 0.05] [--concurrency 32]

Starts the stand-in as its own process on a free loopback port, publishes N events over G message
groups the way the services do (ledger entry, send, sent marker), then in the same run:

1. drains them through the real runtime (claims on the ledger entries, batched deletes) with a
   handler that only sleeps ``latency``, in this process: messages/s, CPU and AWS requests per
   message;
2. the stand-in's ceiling for the same AWS work without the runtime: receive 10, two conditional
   ``UpdateItem`` per message on its ledger entry (claim and done), delete the ten in one batch
   (``RAW_POLLERS`` pollers, each working its ten messages at once);

``--rounds`` times, alternating (the machine is shared: the ratio is the median of the rounds'),
against the bound ``min(concurrency, G) / latency``; then the runtime with a handler that returns
at once.

Ends with one line per target. Bounded: at most ``--messages`` messages and ``--max-seconds`` per
phase; stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _counts import Usage, snapshot
from _profile import Profiles
from _standin import start_stand_in, target_line

from lovia_billing import ConsumerSettings, CustomerUpserted, Integration, Topology
from lovia_billing.aws import AwsClients, open_aws_clients
from lovia_billing.consumer import HandlerContext, IntegrationApp, open_consumer
from lovia_billing.ledger import Ledger
from lovia_billing.provision import provision
from lovia_billing.publisher import Publisher
from lovia_billing.topology import handled_by

REGION = "ap-southeast-1"
INTEGRATION = Integration.ERPNEXT
RAW = Integration.MAUTIC
#: Pollers of the ceiling's raw loop, each working its ten messages at once (2 to 8 measure the same:
#: more only rescan a queue whose groups are all in flight).
RAW_POLLERS = 4


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _publish(
    clients: AwsClients,
    topology: Topology,
    messages: int,
    groups: int,
    round_: int,
    integration: Integration = INTEGRATION,
) -> float:
    """N customer.upserted events, recorded and sent like the ingest does (to one queue only)."""
    publisher = Publisher(clients.sqs, topology, Ledger(clients.dynamodb, topology.ledger_table))
    events = [
        CustomerUpserted.create(
            customer_id=f"cus_{i % groups:04d}",
            request_key=f"r{round_}-{i:06d}",
            email=f"c{i % groups}@example.com",
            name="Bench",
        )
        for i in range(messages)
    ]
    started = time.perf_counter()
    gate = asyncio.Semaphore(16)

    async def one(event: CustomerUpserted) -> None:
        async with gate:
            await publisher.publish(event, correlation_id="bench", integrations=[integration])

    for group_start in range(0, len(events), groups):  # one event per group at a time: order holds
        await asyncio.gather(*(one(e) for e in events[group_start : group_start + groups]))
    return len(events) / (time.perf_counter() - started)


async def _drain_runtime(
    settings: ConsumerSettings, latency: float, messages: int, max_seconds: float
) -> tuple[float, float]:
    """Messages/s through the runtime, and its CPU ms per message (this process)."""

    async def handler(event: Any, ctx: HandlerContext) -> None:  # noqa: ARG001 - the bench only waits
        await asyncio.sleep(latency)

    app = IntegrationApp(INTEGRATION, dict.fromkeys(handled_by(INTEGRATION), handler))
    async with open_consumer(app, settings) as consumer:
        cpu = _cpu_seconds()
        started = time.perf_counter()
        task = asyncio.create_task(consumer.run_until_stopped())
        deadline = started + max_seconds
        while consumer.metrics.totals["processed"] < messages and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # polling a counter: cheaper than an event per message
        elapsed = time.perf_counter() - started
        done = consumer.metrics.totals["processed"]
        cpu = _cpu_seconds() - cpu
        consumer.stop()
        await task
    if done < messages:
        print(f"  runtime: only {done}/{messages} within {max_seconds:.0f} s")
    return done / elapsed, 1000 * cpu / max(1, done)


async def _drain_raw(
    clients: AwsClients, topology: Topology, url: str, messages: int, pollers: int, max_seconds: float
) -> float:
    """The stand-in's ceiling for the runtime's AWS work: receive 10, claim and done on each
    message's ledger entry (two conditional UpdateItem), delete the ten in one batch."""
    done = 0
    started = time.perf_counter()
    deadline = started + max_seconds
    table, key = topology.ledger_table, RAW.value

    async def update(event_id: str, status: str, condition: str) -> None:
        await clients.dynamodb.update_item(
            TableName=table,
            Key={"event_id": {"S": event_id}},
            UpdateExpression="SET #st = :st",
            ConditionExpression=condition,
            ExpressionAttributeNames={"#st": f"st_{key}"},
            ExpressionAttributeValues={":st": {"S": status}, ":done": {"S": "done"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    async def poll() -> None:
        nonlocal done
        while done < messages and time.perf_counter() < deadline:
            response = await clients.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
            )
            received = response.get("Messages", [])

            async def one(message: Any) -> None:
                event_id = CustomerUpserted.model_validate_json(message["Body"]).event_id
                await update(event_id, "processing", "attribute_exists(event_id) AND #st <> :done")
                await update(event_id, "done", "attribute_exists(event_id) AND #st <> :done")

            await asyncio.gather(*(one(m) for m in received))
            if received:
                entries: Any = [
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(received)
                ]
                await clients.sqs.delete_message_batch(QueueUrl=url, Entries=entries)
                done += len(received)

    await asyncio.gather(*(poll() for _ in range(pollers)))
    return done / (time.perf_counter() - started)


async def bench(args: argparse.Namespace, stand_in_url: str) -> None:
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
    profiles = Profiles(Path(tempfile.mkdtemp(prefix="bench-consumer-")))
    rounds: list[tuple[float, float, float]] = []  # runtime msg/s, its CPU ms/message, ceiling msg/s
    async with open_aws_clients(REGION) as clients:
        # A queue of its own for the ceiling: a long poll the stopped runtime left open at the
        # stand-in takes the next batch sent to its queue and hides it for a visibility timeout.
        raw_url = (await clients.sqs.get_queue_url(QueueName=topology.queue_name(RAW)))["QueueUrl"]
        send_rate = 0.0
        for n in range(args.rounds):
            send_rate = await _publish(clients, topology, args.messages, args.groups, 2 * n)
            before = await asyncio.to_thread(snapshot, stand_in_url)
            if args.profile and n == 0:
                profiles.start({"runtime": os.getpid()})
            runtime, cpu = await _drain_runtime(settings, args.latency, args.messages, args.max_seconds)
            profiles.stop()
            after = await asyncio.to_thread(snapshot, stand_in_url)
            calls = Usage.between(before, after, args.messages)
            await _publish(clients, topology, args.messages, args.groups, 2 * n + 1, RAW)
            raw = await _drain_raw(clients, topology, raw_url, args.messages, RAW_POLLERS, args.max_seconds)
            rounds.append((runtime, cpu, raw))
        await _publish(clients, topology, args.messages, args.groups, 999)
        runtime_zero, zero_cpu = await _drain_runtime(settings, 0.0, args.messages, args.max_seconds)

    bound = min(args.concurrency, args.groups) / args.latency
    print(
        f"consumer runtime: {args.messages} messages, {args.groups} groups, "
        f"latency {args.latency * 1000:.0f} ms, concurrency {args.concurrency}, pollers {args.pollers}, "
        f"{args.rounds} rounds"
    )
    print(f"  publish rate (ledger, send, marker): {send_rate:8.1f} events/s")
    for runtime, cpu, raw in rounds:
        print(
            f"  runtime {runtime:7.1f} msg/s (CPU {cpu:.2f} ms/message); "
            f"stand-in ceiling for the same work {raw:7.1f} msg/s"
        )
    print(f"  bound min(concurrency, groups)/lat:  {bound:8.1f} msg/s")
    print(f"  runtime, handler latency 0:          {runtime_zero:8.1f} msg/s   CPU {zero_cpu:.2f} ms/message")
    print(
        f"  the runtime's AWS requests per message: {calls.total:.2f} ("
        + ", ".join(f"{op} {n:.2f}" for op, n in sorted(calls.requests.items()) if n >= 0.01)
        + f"); receives carried {calls.per_receive:.2f} messages"
    )
    top = profiles.top("runtime")
    if top is not None:
        print("profile of this process while the runtime drained (py-spy):")
        print("\n".join("  " + line for line in top.lines(12)))
    ratio = statistics.median(runtime / min(bound, raw) for runtime, _, raw in rounds)
    print(
        target_line(
            "consumer drain over min(stand-in ceiling, concurrency bound), median of rounds",
            f"{ratio:.2f}",
            ">= 0.8",
            ratio >= 0.8,
        )
    )


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
    parser.add_argument("--profile", action="store_true", help="py-spy the runtime and print its top costs")
    parser.add_argument("--rounds", type=int, default=3, help="runtime and ceiling, alternating")
    args = parser.parse_args()
    if args.messages > 20_000:
        sys.exit("at most 20000 messages")
    stand_in = start_stand_in()
    # EMF lines out of the report; an app id so the request log counts this process (see _counts)
    os.environ.update({**stand_in.env(), "POWERTOOLS_METRICS_DISABLED": "true", "AWS_SDK_UA_APP_ID": "bench"})
    try:
        asyncio.run(bench(args, stand_in.url))
    finally:
        stand_in.stop()


if __name__ == "__main__":
    main()
