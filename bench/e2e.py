"""End-to-end benchmark: the whole local stack as processes, loopback only, bounded.

    python bench/e2e.py [--customers 40] [--rate 50] [--latency-ms 50] [--max-seconds 180]

Starts every component (AWS stand-in, four sandboxes, ingest, four consumers) on free loopback
ports, makes every sandbox answer ``--latency-ms`` late (a latency fault on every call), then
offers N customers x (customer, invoice, payment) at ``--rate`` domain events/s (five events per
customer: customer.upserted, invoice.requested, invoice.issued, xendit.invoice.paid,
payment.succeeded). Prints the events/s achieved, p50/p95/p99 from the Xendit callback leaving the
sandbox to the Payment Entry's creation in ERPNext, each process's peak RSS and start-up time to
ready, and, in the same run, the stand-in's raw SendMessage and Receive+Delete rates on a FIFO
queue. Stops every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed

from billing_testing.e2e import Client, Flow, make_flows, settle
from billing_testing.stack import SANDBOXES, Stack

EVENTS_PER_FLOW = 5
ERPNEXT_ZONE = ZoneInfo("Asia/Jakarta")  # the sandbox site's time zone (ERPNEXT_SANDBOX_TIME_ZONE)


class RssSampler(threading.Thread):
    """Peak resident memory of each component (its process and children), sampled every 0.2 s."""

    def __init__(self, stack: Stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.peak: dict[str, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            for name, pid in self.stack.pids().items():
                try:
                    process = psutil.Process(pid)
                    rss = sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])
                except psutil.Error:
                    continue
                self.peak[name] = max(self.peak.get(name, 0), rss)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _utc(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _erpnext_time(value: str) -> float:
    return datetime.fromisoformat(value).replace(tzinfo=ERPNEXT_ZONE).timestamp()


async def _offer(client: Client, flows: list[Flow], rate: float) -> None:
    """Start flow i at i * 5 / rate seconds: ``rate`` events/s offered."""
    started = time.monotonic()

    async def one(i: int, flow: Flow) -> None:
        await asyncio.sleep(max(0.0, started + i * EVENTS_PER_FLOW / rate - time.monotonic()))
        await client.run_flow(flow)

    await asyncio.gather(*(one(i, f) for i, f in enumerate(flows)))


async def _wait_paid(stack: Stack, flows: list[Flow], deadline: float) -> dict[str, float]:
    """Payment Entry creation time per invoice (epoch seconds), once all exist or at the deadline."""
    wanted = {f.invoice_id for f in flows}
    async with httpx.AsyncClient(timeout=30) as http:
        while True:
            state = (await http.get(stack.url("erpnext-sandbox") + "/_sandbox/state")).json()["documents"]
            invoice_of = {s["name"]: s.get("custom_lovia_invoice_id") for s in state.get("Sales Invoice", [])}
            created = {
                invoice_of.get(r["reference_name"]): _erpnext_time(p["creation"])
                for p in state.get("Payment Entry", [])
                for r in p["references"]
            }
            if wanted <= created.keys() or time.monotonic() > deadline:
                return {k: v for k, v in created.items() if k in wanted}
            await asyncio.sleep(0.25)


async def _callback_times(client: Client, flows: list[Flow]) -> dict[str, float]:
    """When the Xendit sandbox sent each PAID callback (its first delivery attempt)."""
    times: dict[str, float] = {}
    for flow in flows:
        for delivery in await client.callbacks(flow.xendit_id or ""):
            if delivery["status"] == "PAID" and delivery["attempts"]:
                times[flow.invoice_id] = _utc(delivery["attempts"][0]["at"])
    return times


def _raw_ceiling(stack: Stack, messages: int) -> dict[str, float]:
    """The stand-in alone on a fresh FIFO queue: SendMessage (16 threads), then Receive + Delete."""
    sqs: Any = boto3.client(
        "sqs",
        region_name="ap-southeast-1",
        endpoint_url=stack.url("aws"),
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the stand-in accepts anything
    )
    url = sqs.create_queue(
        QueueName=f"bench-raw-{int(time.time())}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    body = "x" * 1000

    def send(i: int) -> None:
        sqs.send_message(QueueUrl=url, MessageBody=f"{i}:{body}", MessageGroupId=f"g{i % 100}")

    started = time.monotonic()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(send, range(messages)))
    send_rate = messages / (time.monotonic() - started)

    received = 0
    started = time.monotonic()
    while received < messages and time.monotonic() - started < 60:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        )
        if batch:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
        received += len(batch)
    drain_rate = received / (time.monotonic() - started)
    sqs.delete_queue(QueueUrl=url)
    return {
        "send": send_rate,
        "receive_delete": drain_rate,
        "send_receive_delete": 1 / (1 / send_rate + 1 / drain_rate),
    }


def _slow_down(stack: Stack, latency_ms: int) -> None:
    for name in SANDBOXES:
        rule = {"kind": "latency", "latency_ms": latency_ms}
        httpx.post(stack.url(name) + "/_sandbox/faults", json=rule, timeout=10).raise_for_status()


async def bench(args: argparse.Namespace) -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    stack = Stack(log_dir, stage="bench", sandbox_env={"XENDIT_SANDBOX_TIME_SCALE": "0.001"})
    sampler = RssSampler(stack)
    began = time.monotonic()
    stack.start()
    startup = time.monotonic() - began
    sampler.start()
    try:
        await asyncio.to_thread(_slow_down, stack, args.latency_ms)
        flows = make_flows("bench", args.customers)
        deadline = time.monotonic() + args.max_seconds
        async with Client(stack, [stack.url("ingest")]) as client:
            t0 = time.monotonic()
            await _offer(client, flows, args.rate)
            offered = time.monotonic() - t0
            paid = await _wait_paid(stack, flows, deadline)
            wall = time.monotonic() - t0
            sent = await _callback_times(client, flows)
            # Then the rest drains (ChartMogul, Mautic) and every system is checked: one of each.
            verdict = await settle(client, flows, within=max(10.0, deadline - time.monotonic()))
        sampler.stopped.set()
        raw = await asyncio.to_thread(_raw_ceiling, stack, args.raw_messages)
        # Start-up of one consumer with the machine otherwise idle (at stack start four share 2 cores).
        alone = (await asyncio.to_thread(stack.restart, "erpnext-sync")).ready_seconds or 0.0
    finally:
        sampler.stopped.set()
        stack.stop()

    latencies = [paid[k] - sent[k] for k in paid if k in sent]
    done = len(paid)
    events = done * EVENTS_PER_FLOW
    print(f"customers {args.customers}, offered {args.rate:g} events/s over {offered:.1f} s,")
    print(f"  every sandbox {args.latency_ms} ms late")
    print(
        f"completed {done}/{len(flows)} flows ({events} events) in {wall:.1f} s: {events / wall:.1f} events/s"
    )
    if latencies:
        p50, p95, p99 = (_percentile(latencies, q) * 1000 for q in (0.5, 0.95, 0.99))
        print(f"callback -> ERPNext Payment Entry: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms,")
        print(f"  max {max(latencies) * 1000:.0f} ms (target: p99 < 1000 ms)")
    print(f"downstream check: {verdict}")
    print(f"stack start-up {startup:.1f} s (sandboxes together, then the ingest, then consumers together)")
    print(f"one consumer restarted alone: ready in {alone:.2f} s")
    print(f"{'process':<20} {'ready (s)':>9} {'peak RSS (MB)':>14}")
    for name, proc in stack.procs.items():
        ready = f"{proc.ready_seconds:.2f}" if proc.ready_seconds is not None else "-"
        print(f"{name:<20} {ready:>9} {sampler.peak.get(name, 0) / 2**20:>14.1f}")
    print(
        f"stand-in ceiling ({args.raw_messages} msgs of 1 KB, a FIFO queue): SendMessage {raw['send']:.0f}/s,"
        f" Receive+Delete {raw['receive_delete']:.0f}/s, both {raw['send_receive_delete']:.0f} msgs/s"
    )
    print(f"a flow is 11 messages sent, received and deleted (5 events, 1-3 queues each); logs: {log_dir}")
    return 0 if verdict.ok and done == len(flows) else 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--customers", type=int, default=40, help="customers (each: customer, invoice, payment)"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="domain events/s offered (5 per customer)")
    parser.add_argument("--latency-ms", type=int, default=50, help="every sandbox answers this late")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="give up waiting after this")
    parser.add_argument("--raw-messages", type=int, default=200, help="messages for the stand-in's raw rate")
    args = parser.parse_args()
    if not (1 <= args.customers <= 500):
        parser.error("--customers must be 1..500 (moto's FIFO sends slow down as queues grow)")
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
