"""End-to-end benchmark: the whole local stack as processes, loopback only, bounded.

    python bench/e2e.py [--customers 40] [--rate 50] [--latency-ms 50] [--count-customers 10]

Starts every component (AWS stand-in, four sandboxes, ingest, four consumers) on free loopback
ports, makes every sandbox answer ``--latency-ms`` late (a latency fault on every call), then:

1. AWS requests per flow: ``--count-customers`` customers go through each flow in turn (customer
   upsert, invoice end to end, payment end to end), the system going quiet in between; the
   stand-in's request log (by process, idle long polls left out) gives requests per flow by service
   and operation, against the floor (``_counts.Floor``), and the cost per million events;
2. latency: N customers x (customer, invoice, payment) offered at ``--rate`` domain events/s (five
   events per customer: customer.upserted, invoice.requested, invoice.issued, xendit.invoice.paid,
   payment.succeeded); p50/p95/p99 from the Xendit callback leaving the sandbox to the Payment
   Entry's creation in ERPNext, and each process's CPU per event (psutil);
3. each process's peak RSS and start-up to ready, and, in the same run, the stand-in's own rates.

Ends with one line per target. Stops every process it started.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed
from _counts import COLUMNS, Floor, Usage, header, row, wait_quiet
from _profile import Profiles
from _standin import measure_ceiling, target_line

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
            if delivery["body"].get("status") == "PAID" and delivery["attempts"]:
                times[flow.invoice_id] = _utc(delivery["attempts"][0]["at"])
    return times


def _slow_down(stack: Stack, latency_ms: int) -> None:
    for name in SANDBOXES:
        rule = {"kind": "latency", "latency_ms": latency_ms}
        httpx.post(stack.url(name) + "/_sandbox/faults", json=rule, timeout=10).raise_for_status()


@dataclass
class FlowCounts:
    customer: Usage
    invoice: Usage
    payment: Usage
    callback: Usage  # the ingest's part of the payment flow: one callback accepted

    def lifecycle(self) -> Usage:
        """Customer + invoice + payment: five domain events."""
        usage = Usage(1)
        for part in (self.customer, self.invoice, self.payment):
            for name, value in part.requests.items():
                usage.requests[name] = usage.requests.get(name, 0) + value
            usage.write_units += part.write_units
            usage.read_units += part.read_units
            for name, value in part.units.items():
                usage.units[name] = usage.units.get(name, 0) + value
            usage.messages_received += part.messages_received
        return usage


#: The floor of each flow (``_counts.Floor``): sends, messages consumed, the contract's writes.
FLOORS = {
    # customer.upserted to 3 queues; ledger entry + sent marker; Idempotency-Key reserve + answer
    "customer": Floor(sends=3, messages=3, contract=4),
    # invoice.requested (1 queue) then invoice.issued (3); two ledger entries with their markers
    "invoice": Floor(sends=4, messages=4, contract=4),
    # xendit.invoice.paid (1) then payment.succeeded (3); two entries + markers; the customer look-up
    "payment": Floor(sends=4, messages=4, contract=5),
    "callback": Floor(sends=1, messages=0, contract=3),
}


async def _count_flows(stack: Stack, client: Client, flows: list[Flow]) -> FlowCounts:
    """Each flow for every customer at once; the request log between quiet moments, per flow."""
    aws = stack.url("aws")
    quiet = await asyncio.to_thread(wait_quiet, aws)
    await asyncio.gather(*(client.put_customer(f) for f in flows))
    after_customers = await asyncio.to_thread(wait_quiet, aws)
    await asyncio.gather(*(client.post_invoice(f) for f in flows))
    await asyncio.gather(*(client.wait_xendit_invoice(f) for f in flows))
    after_invoices = await asyncio.to_thread(wait_quiet, aws)
    await asyncio.gather(*(client.pay(f) for f in flows))
    await _wait_paid(stack, flows, time.monotonic() + 120)
    after_payments = await asyncio.to_thread(wait_quiet, aws)
    payment = Usage.between(after_invoices, after_payments, len(flows))
    return FlowCounts(
        customer=Usage.between(quiet, after_customers, len(flows)),
        invoice=Usage.between(after_customers, after_invoices, len(flows)),
        payment=payment,
        callback=payment.app("ingest"),
    )


def _print_counts(counts: FlowCounts) -> None:
    print(f"AWS requests per flow ({counts.customer.flows} customers; idle long polls not counted):")
    print("  " + header())
    for name in ("customer", "invoice", "payment", "callback"):
        usage: Usage = getattr(counts, name)
        label = {
            "customer": "customer upsert, end to end",
            "invoice": "invoice, end to end",
            "payment": "payment, end to end",
            "callback": "  of which callback accepted",
        }[name]
        print("  " + row(label, usage, FLOORS[name], COLUMNS))
    for name in ("customer", "invoice", "payment"):
        usage = getattr(counts, name)
        apps = ", ".join(f"{app} {sum(ops.values()):.1f}" for app, ops in sorted(usage.by_app.items()))
        print(
            f"  {name}: by process {apps}; receives carried {usage.per_receive:.2f} messages; "
            f"{usage.write_units:.1f} WRU, {usage.read_units:.1f} RRU"
        )
    life = counts.lifecycle()
    floor = sum(FLOORS[n].total for n in ("customer", "invoice", "payment"))
    cost = life.cost_per_million(EVENTS_PER_FLOW)
    stage = "bench-billing-"  # table names: <stage>-billing-ledger, ...-idempotency
    tables = ", ".join(
        f"{name.replace(stage, '')} {value:.1f}" for name, value in sorted(life.units.items()) if value
    )
    print(f"  one lifecycle's request units by table: {tables}")
    print(
        f"  one lifecycle (5 events): {life.total:.1f} requests (floor {floor:.1f}), "
        f"{life.sqs_requests:.1f} SQS, {life.write_units:.1f} WRU, {life.read_units:.1f} RRU: "
        f"${cost:.2f} per million events at ap-southeast-1 list prices (see _counts.py)"
    )


@dataclass
class CpuSample:
    seconds: dict[str, float]

    @classmethod
    def take(cls, stack: Stack) -> CpuSample:
        seconds = {}
        for name, pid in stack.pids().items():
            try:
                times = psutil.Process(pid).cpu_times()
            except psutil.Error:
                continue
            seconds[name] = times.user + times.system
        return cls(seconds)


def _cpu_per_event(before: CpuSample, after: CpuSample, run: Usage, ingest_requests: int) -> dict[str, float]:
    """CPU ms per event: the ingest per HTTP request, a consumer per message it received."""
    result = {}
    for name, end in after.seconds.items():
        used = end - before.seconds.get(name, end)
        if name == "ingest":
            result[name] = 1000 * used / max(1, ingest_requests)
        elif name.endswith("-sync"):
            result[name] = 1000 * used / max(1.0, run.received_by_app.get(name, 0))
    return result


async def bench(args: argparse.Namespace) -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-e2e-"))
    stack = Stack(log_dir, stage="bench", sandbox_env={"XENDIT_SANDBOX_TIME_SCALE": "0.001"})
    for name, proc in stack.procs.items():  # the request log tells the processes apart by this
        proc.env["AWS_SDK_UA_APP_ID"] = proc.base_env["AWS_SDK_UA_APP_ID"] = name
    sampler = RssSampler(stack)
    began = time.monotonic()
    stack.start()
    startup = time.monotonic() - began
    sampler.start()
    try:
        await asyncio.to_thread(_slow_down, stack, args.latency_ms)
        count_flows = make_flows("count", args.count_customers)
        flows = make_flows("bench", args.customers)
        deadline = time.monotonic() + args.max_seconds
        async with Client(stack, [stack.url("ingest")]) as client:
            counts = await _count_flows(stack, client, count_flows)
            before_snap = await asyncio.to_thread(wait_quiet, stack.url("aws"))
            profiles = Profiles(log_dir / "profiles")
            if args.profile:
                profiles.start(
                    {n: p for n, p in stack.pids().items() if n == "ingest" or n.endswith("-sync")}
                )
            cpu_before = CpuSample.take(stack)
            t0 = time.monotonic()
            await _offer(client, flows, args.rate)
            offered = time.monotonic() - t0
            paid = await _wait_paid(stack, flows, deadline)
            wall = time.monotonic() - t0
            after_snap = await asyncio.to_thread(wait_quiet, stack.url("aws"))
            cpu_after = CpuSample.take(stack)
            profiles.stop()
            sent = await _callback_times(client, flows)
            # Then the rest drains (ChartMogul, Mautic) and every system is checked: one of each.
            verdict = await settle(
                client, [*count_flows, *flows], within=max(10.0, deadline - time.monotonic())
            )
        sampler.stopped.set()
        ceiling = await measure_ceiling(stack.url("aws"), stack.pids()["aws"], messages=args.raw_messages)
        # Start-up of one consumer with the machine otherwise idle (at stack start four share 2 cores).
        alone = (await asyncio.to_thread(stack.restart, "erpnext-sync")).ready_seconds or 0.0
    finally:
        sampler.stopped.set()
        stack.stop()

    cpu = _cpu_per_event(cpu_before, cpu_after, Usage.between(before_snap, after_snap, 1), 3 * len(flows))
    latencies = [paid[k] - sent[k] for k in paid if k in sent]
    done = len(paid)
    events = done * EVENTS_PER_FLOW
    _print_counts(counts)
    print()
    print(f"latency: {args.customers} customers offered at {args.rate:g} events/s over {offered:.1f} s,")
    print(f"  every sandbox {args.latency_ms} ms late")
    print(
        f"completed {done}/{len(flows)} flows ({events} events) in {wall:.1f} s: {events / wall:.1f} events/s"
    )
    p99 = float("inf")
    if latencies:
        p50, p95, p99 = (_percentile(latencies, q) * 1000 for q in (0.5, 0.95, 0.99))
        print(f"callback -> ERPNext Payment Entry: p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms,")
        print(f"  max {max(latencies) * 1000:.0f} ms")
    print(f"downstream check: {verdict}")
    print("CPU per event (ms; the ingest per HTTP request, a consumer per message received):")
    print("  " + ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(cpu.items())))
    for name in ("ingest", "xendit-sync", "erpnext-sync"):
        top = profiles.top(name)
        if top is not None:
            print(f"profile of {name} during the latency run (py-spy):")
            print("\n".join("  " + line for line in top.lines(args.profile_lines)))
    print(f"stack start-up {startup:.1f} s (sandboxes together, then the ingest, then consumers together)")
    print(f"one consumer restarted alone: ready in {alone:.2f} s")
    print(f"{'process':<20} {'ready (s)':>9} {'peak RSS (MB)':>14}")
    for name, proc in stack.procs.items():
        ready = f"{proc.ready_seconds:.2f}" if proc.ready_seconds is not None else "-"
        print(f"{name:<20} {ready:>9} {sampler.peak.get(name, 0) / 2**20:>14.1f}")
    print("stand-in ceiling in the same run:")
    for line in ceiling.lines():
        print(f"  {line}")
    consumers = [n for n in stack.procs if n.endswith("-sync")]
    rss = max(sampler.peak.get(n, 0) for n in consumers) / 2**20
    together = max(stack.procs[n].ready_seconds or 0.0 for n in consumers if n != "erpnext-sync")
    print(target_line("callback -> Payment Entry p99", f"{p99:.0f} ms", "< 1000 ms", p99 < 1000))
    print(target_line("consumer peak RSS", f"{rss:.0f} MB", "< 150 MB", rss < 150))
    print(target_line("consumer ready, started alone", f"{alone:.2f} s", "< 2 s", alone < 2))
    print(target_line("consumer ready, four started at once", f"{together:.2f} s", "< 2 s", together < 2))
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
    parser.add_argument("--raw-messages", type=int, default=500, help="messages for the stand-in's own rates")
    parser.add_argument(
        "--profile", action=argparse.BooleanOptionalAction, default=True, help="py-spy the services"
    )
    parser.add_argument("--profile-lines", type=int, default=8)
    parser.add_argument(
        "--count-customers", type=int, default=10, help="customers per flow for the request counts"
    )
    args = parser.parse_args()
    if not (1 <= args.customers <= 500):
        parser.error("--customers must be 1..500 (moto's FIFO sends slow down as queues grow)")
    sys.exit(asyncio.run(bench(args)))


if __name__ == "__main__":
    main()
