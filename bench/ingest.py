"""bench/ingest: invoice-paid callbacks through the ingest, against raw SendMessage and a bare baseline.

    python bench/ingest.py [--count 600] [--concurrency 16] [--rounds 2] [--profile]

Starts the AWS stand-in, one ingest (one uvicorn worker) and the baseline app (``_baseline_app``: a
bare Litestar handler that validates the same body with the ingest's model and makes one
SendMessage) as processes on free loopback ports. Then, per round, in the same run:

1. N distinct invoice-paid callbacks to the ingest with C concurrent clients: accepted/s, p50/p99,
   the ingest's CPU per request (psutil) and its AWS requests per callback (the stand-in's log);
2. the same N to the baseline: its CPU per request;
3. N raw aiobotocore ``SendMessage`` calls from this process at the same concurrency.

``--profile`` samples the ingest with py-spy during its runs and prints the top costs. Ends with
one line per target. Bounded in count and time, loopback only; stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]  # no stubs installed
from _counts import Usage, snapshot
from _profile import Profiles
from _standin import REGION, StandIn, start_stand_in, target_line
from aiobotocore.session import get_session

from billing_testing.samples import INVOICE_PAID_CALLBACK
from billing_testing.servers import free_port, wait_for_http
from lovia_billing.aws import client_config
from lovia_billing.provision import provision
from lovia_billing.topology import Topology

TOKEN = "bench-callback-token"  # noqa: S105 - a made-up local value
DEADLINE_SECONDS = 300
WARM_UP = 30


@dataclass
class Run:
    name: str
    count: int
    seconds: float
    latencies: list[float]
    failures: int
    cpu_ms: float | None = None  # of the serving process, per request

    @property
    def rate(self) -> float:
        return (self.count - self.failures) / self.seconds

    def line(self) -> str:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
        cpu = f"  CPU {self.cpu_ms:5.2f} ms/request" if self.cpu_ms is not None else ""
        return (
            f"{self.name:<9} {self.count:>5} sent {self.failures:>3} failed {self.rate:8.1f}/s  "
            f"p50 {statistics.median(self.latencies) * 1000:6.1f} ms  p99 {p99 * 1000:6.1f} ms{cpu}"
        )


def _cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


async def _drive(
    name: str, count: int, concurrency: int, call: Callable[[int], Awaitable[bool]], pid: int | None = None
) -> Run:
    latencies: list[float] = []
    failures = 0
    indexes = iter(range(count))

    async def worker() -> None:
        nonlocal failures
        for i in indexes:
            started = time.perf_counter()
            ok = await call(i)
            latencies.append(time.perf_counter() - started)
            failures += 0 if ok else 1

    cpu_before = _cpu(pid) if pid else 0.0
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), DEADLINE_SECONDS)
    seconds = time.perf_counter() - started
    cpu_ms = 1000 * (_cpu(pid) - cpu_before) / count if pid else None
    return Run(name, count, seconds, latencies, failures, cpu_ms)


def _callbacks(http: httpx.AsyncClient, prefix: str) -> Callable[[int], Awaitable[bool]]:
    async def call(i: int) -> bool:
        body = {**INVOICE_PAID_CALLBACK, "id": f"{prefix}{i:018d}", "external_id": f"inv_{prefix}_{i}"}
        response = await http.post(
            "/webhooks/xendit/invoice",
            content=json.dumps(body),
            headers={"x-callback-token": TOKEN, "content-type": "application/json"},
        )
        return response.status_code == 200

    return call


async def _round(
    n: int, args: argparse.Namespace, ingest: tuple[str, int], baseline: tuple[str, int], queue_url: str
) -> tuple[Run, Run, Run]:
    async with (
        httpx.AsyncClient(base_url=ingest[0], timeout=30) as to_ingest,
        httpx.AsyncClient(base_url=baseline[0], timeout=30) as to_baseline,
        get_session().create_client("sqs", region_name=REGION, config=client_config()) as sqs,
    ):

        async def raw(i: int) -> bool:
            body = json.dumps({**INVOICE_PAID_CALLBACK, "id": f"raw{n}-{i:018d}"}, sort_keys=True)
            await sqs.send_message(QueueUrl=queue_url, MessageBody=body, MessageGroupId=f"inv_raw_{i}")
            return True

        if n == 0:  # the first requests of a process pay for lazy imports and caches
            for client, prefix in ((to_ingest, "warmi"), (to_baseline, "warmb")):
                await _drive("warm-up", WARM_UP, 4, _callbacks(client, prefix))
            await _drive("warm-up", WARM_UP, 4, raw)
        ingest_run = await _drive(
            "ingest", args.count, args.concurrency, _callbacks(to_ingest, f"i{n}x"), ingest[1]
        )
        baseline_run = await _drive(
            "baseline", args.count, args.concurrency, _callbacks(to_baseline, f"b{n}x"), baseline[1]
        )
        raw_run = await _drive("raw sqs", args.count, args.concurrency, raw)
    return ingest_run, baseline_run, raw_run


def _start(args: list[str], env: dict[str, str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env=env)
    try:
        wait_for_http(url, timeout=30)
    except BaseException:
        process.terminate()
        raise
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="py-spy the ingest and print its top costs")
    args = parser.parse_args()
    args.count = max(50, min(args.count, 5000))
    stand_in: StandIn = start_stand_in()
    processes: list[subprocess.Popen[bytes]] = []
    profiles = Profiles(Path(tempfile.mkdtemp(prefix="bench-ingest-")))
    try:
        os.environ.update(stand_in.env())
        provision(Topology("benchingest"), region=REGION, purge=True)
        queue_url = provision(Topology("benchraw"), region=REGION, purge=True)[
            Topology("benchraw").queue_name("xendit")
        ]
        ingest_port, baseline_port = free_port(), free_port()
        common = {**os.environ, "LOG_LEVEL": "WARNING"}
        ingest_env = {
            **common,
            "BILLING_STAGE": "benchingest",
            "PORT": str(ingest_port),
            "HOST": "127.0.0.1",
            "XENDIT_CALLBACK_TOKEN": TOKEN,
            "AWS_SDK_UA_APP_ID": "ingest",
        }
        ingest_url = f"http://127.0.0.1:{ingest_port}"
        processes.append(
            _start([str(Path(sys.executable).parent / "billing-ingest")], ingest_env, ingest_url)
        )
        wait_for_http(ingest_url + "/health/ready", timeout=30)
        # -P: not bench/ on sys.path, where ingest.py would shadow the ingest package
        baseline_args = [sys.executable, "-P", str(Path(__file__).parent / "_baseline_app.py")]
        baseline_args += ["--port", str(baseline_port), "--queue-url", queue_url]
        baseline_url = f"http://127.0.0.1:{baseline_port}"
        processes.append(_start(baseline_args, {**common, "AWS_SDK_UA_APP_ID": "baseline"}, baseline_url))
        print(f"{args.count} callbacks per run, concurrency {args.concurrency}, {args.rounds} rounds")
        if args.profile:
            profiles.start({"ingest": processes[0].pid})
        runs = []
        before = snapshot(stand_in.url)
        for n in range(args.rounds):
            ingest_run, baseline_run, raw_run = asyncio.run(
                _round(n, args, (ingest_url, processes[0].pid), (baseline_url, processes[1].pid), queue_url)
            )
            runs.append((ingest_run, baseline_run, raw_run))
            for run in (ingest_run, baseline_run, raw_run):
                print(run.line())
        after = snapshot(stand_in.url)
        profiles.stop()
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        stand_in.stop()

    calls = args.rounds * args.count + WARM_UP
    ingest_calls = Usage.between(before, after, calls).app("ingest")
    print(
        "the ingest's AWS requests per callback: "
        + ", ".join(f"{op} {n:.2f}" for op, n in sorted(ingest_calls.requests.items()))
    )
    top = profiles.top("ingest")
    if top is not None:
        print("profile of the ingest (py-spy):")
        print("\n".join("  " + line for line in top.lines(12)))
    rate_ratio = statistics.median(i.rate / r.rate for i, _, r in runs)
    cpu_ratio = statistics.median((i.cpu_ms or 0) / (b.cpu_ms or 1) for i, b, _ in runs)
    ingest_cpu = statistics.median(i.cpu_ms or 0 for i, _, _ in runs)
    baseline_cpu = statistics.median(b.cpu_ms or 0 for _, b, _ in runs)
    print(
        target_line(
            "ingest accepted/s over raw SendMessage/s", f"{rate_ratio:.2f}", ">= 0.8", rate_ratio >= 0.8
        )
    )
    print(
        target_line(
            "ingest CPU per request over the baseline's",
            f"{cpu_ratio:.2f} ({ingest_cpu:.2f} / {baseline_cpu:.2f} ms)",
            "<= 1.5",
            cpu_ratio <= 1.5,
        )
    )


if __name__ == "__main__":
    main()
