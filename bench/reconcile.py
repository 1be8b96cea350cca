"""Reconciliation benchmark: a day of N paid invoices read within Xendit's test-mode rate limit.

    python bench/reconcile.py [--invoices 1000] [--rate-limit 60] [--page-size 100] [--repair]

Starts the AWS stand-in and the four sandboxes on free loopback ports (no ingest, no consumers: the
command only reads, and with ``--repair`` publishes to the xendit queue). Creates N invoices at the
Xendit sandbox as xendit_sync would (our metadata) and pays them with callbacks switched off, so
every payment is missing downstream. Then sets Xendit's budget to ``--rate-limit`` requests a minute
per endpoint (60: test mode; 600: live) and runs ``billing reconcile --since today --json`` against
all three books. Prints its duration, requests per record per system, the Xendit requests, waits and
429s, and ends with one line per target. Bounded: at most ``--max-seconds``; stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

from billing_cli.local_stack import LOCAL_XENDIT_KEY
from billing_testing.reconcile import Run, run_reconcile
from billing_testing.stack import SANDBOXES, Stack

TARGET_SECONDS = 600.0  # a daily job: ten minutes for a day of a thousand payments
TARGET_PER_RECORD = 2.0


async def seed(stack: Stack, count: int, concurrency: int = 16) -> None:
    """``count`` invoices made and paid at Xendit, with no callback sent for any."""
    xendit = stack.url("xendit-sandbox")
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=xendit, timeout=30) as http:
        await http.post("/_sandbox/config", json={"callbacks_enabled": False, "rate_limit": 100_000})

        async def one(n: int) -> None:
            ids = {"lovia_customer_id": f"cus_b{n:05d}", "lovia_invoice_id": f"inv_b{n:05d}"}
            body = {"external_id": ids["lovia_invoice_id"], "amount": 100_000 + n, "currency": "IDR"}
            async with gate:
                created = await http.post(
                    "/v2/invoices", json={**body, "metadata": ids}, auth=(LOCAL_XENDIT_KEY, "")
                )
                created.raise_for_status()
                paid = await http.post(
                    f"/_sandbox/invoices/{created.json()['id']}/pay", json={"channel": "BCA"}
                )
                paid.raise_for_status()

        await asyncio.gather(*(one(n) for n in range(count)))


async def set_rate_limit(stack: Stack, per_minute: int) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(
            stack.url("xendit-sandbox") + "/_sandbox/config",
            json={"rate_limit": per_minute, "rate_limit_window_seconds": 60},
        )
        response.raise_for_status()


def line(name: str, figure: str, target: str, met: bool) -> str:
    return f"{name}: {figure} (target {target}): {'met' if met else 'not met'}"


def describe(run: Run, title: str) -> list[str]:
    report = run.report
    figures, limits = report["requests"], report["xendit_rate_limit"]
    print(f"{title}: exit {run.exit_code}, {run.seconds:.1f} s, {figures['records']} records")
    per_record = figures["per_record"]
    print(f"  requests by system: {figures['by_system']} = {figures['total']} ({per_record} per record)")
    print(f"  Xendit by endpoint: {limits['by_endpoint']}")
    print(
        f"  Xendit waits for Rate-Limit-Reset: {limits['waited_seconds']} s; 429s met: {limits['throttled']}"
    )
    print(f"  differences: {report['summary']['by_kind']}")
    summary = report["summary"]
    print(f"  repair: {summary['repaired']} repaired, {summary['repair_events_published']} events published")
    return [
        line(
            f"{title} duration",
            f"{run.seconds:.1f} s",
            f"< {TARGET_SECONDS:.0f} s",
            run.seconds < TARGET_SECONDS,
        ),
        line(
            f"{title} requests per record",
            f"{figures['per_record']}",
            f"<= {TARGET_PER_RECORD}",
            figures["per_record"] is not None and figures["per_record"] <= TARGET_PER_RECORD,
        ),
        line(f"{title} Xendit 429s", str(limits["throttled"]), "0", limits["throttled"] == 0),
    ]


async def bench(args: argparse.Namespace) -> int:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    stack = Stack(log_dir, stage="benchrec", dedup_window=2)
    try:
        stack.start(only=("aws", *SANDBOXES))
        started = time.monotonic()
        await seed(stack, args.invoices)
        print(f"seeded {args.invoices} paid invoices in {time.monotonic() - started:.1f} s (callbacks off)")
        await set_rate_limit(stack, args.rate_limit)
        env = {"RECONCILE_PAGE_SIZE": str(args.page_size)}
        print(f"Xendit budget: {args.rate_limit} requests/min per endpoint; page size {args.page_size}")
        lines = describe(
            await asyncio.to_thread(
                run_reconcile,
                stack,
                log_dir / "reports",
                "--since",
                "today",
                env=env,
                timeout=args.max_seconds,
            ),
            "reconcile",
        )
        if args.repair:
            await set_rate_limit(stack, args.rate_limit)  # a fresh window, as the next day's run would have
            lines += describe(
                await asyncio.to_thread(
                    run_reconcile,
                    stack,
                    log_dir / "reports",
                    "--since",
                    "today",
                    "--repair",
                    env=env,
                    timeout=args.max_seconds,
                ),
                "reconcile --repair",
            )
        print(f"logs and reports: {log_dir}")
        for text in lines:
            print(text)
        return 0 if all(text.endswith(": met") for text in lines) else 1
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument(
        "--rate-limit", type=int, default=60, help="Xendit requests/min per endpoint (60: test)"
    )
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--repair", action="store_true", help="also run --repair (1,000 events published)")
    parser.add_argument("--max-seconds", type=float, default=900.0)
    sys.exit(asyncio.run(bench(parser.parse_args())))


if __name__ == "__main__":
    main()
