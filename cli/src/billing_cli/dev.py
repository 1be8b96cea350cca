"""``billing dev``: the local stack in the foreground (what ``make run`` runs).

Starts the AWS stand-in, creates the stage's queues and tables from the topology (purged: moto's
FIFO sends slow down as queues grow), then the four sandboxes, the ingest and the four consumers,
each a child process with its log in ``.local/logs/`` (unbuffered: ``PROCESS_ENV``). One status
line per component. Ctrl-C or SIGTERM stops every child (SIGTERM, then SIGKILL after the grace
period) and exits 0.

It also supervises: a component that dies is named in one line and started again, at most
``--max-restarts`` times each. The AWS stand-in keeps everything in memory, so when it dies its
queues, messages and tables are gone; it is started again and the stage's queues and tables are
provisioned afresh (empty), and the line says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated

import httpx
import typer
from rich.console import Console

from billing_cli.local_stack import PROCESS_ENV, REGION, Component, components

STOP_GRACE_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 60.0
MAX_RESTARTS = 5
console = Console(highlight=False)


@dataclass
class Child:
    component: Component
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = field(default=None, repr=False)
    restarts: int = 0

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.component.port}" if self.component.port else None


def _executable(command: tuple[str, ...]) -> list[str]:
    """Run ``python`` and the workspace's console scripts from the interpreter running us."""
    bin_dir = Path(sys.executable).parent
    first = command[0]
    if first == "python":
        return [sys.executable, *command[1:]]
    script = bin_dir / first
    return [str(script) if script.exists() else (shutil.which(first) or first), *command[1:]]


def _start(child: Child, base_env: dict[str, str]) -> None:
    child.log_path.parent.mkdir(parents=True, exist_ok=True)
    if child.log is None:
        child.log = child.log_path.open("ab")
    env = {**base_env, **PROCESS_ENV, **child.component.env}
    if child.component.kind != "aws":
        env["HOST"] = "127.0.0.1"  # processes on this machine: loopback only
    args = [a if a != "0.0.0.0" else "127.0.0.1" for a in _executable(child.component.command)]
    child.process = subprocess.Popen(  # noqa: S603 - our own commands, no shell
        args, env=env, stdout=child.log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _wait_ready(child: Child, path: str = "/", timeout: float = READY_TIMEOUT_SECONDS) -> bool:
    if child.url is None:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.process is not None and child.process.poll() is not None:
            return False
        try:
            if httpx.get(child.url + path, timeout=1.0).status_code < 500:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    return False


def _status(child: Child, state: str) -> None:
    colour = {"ready": "green", "running": "green", "starting": "yellow"}.get(state, "red")
    pid = child.process.pid if child.process else "-"
    where = child.url or "(consumer)"
    console.print(f"[{colour}]{state:>8}[/]  {child.component.name:<19} pid {pid!s:<7} {where}")


def _stop_all(children: list[Child]) -> None:
    running = [c for c in children if c.process and c.process.poll() is None]
    for child in reversed(running):
        assert child.process is not None
        child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in reversed(running):
        assert child.process is not None
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
    for child in children:
        if child.log:
            child.log.close()


#: What ``.local/env`` exports: the stand-in, and the sandboxes' URLs and made-up local keys (which
#: ``billing reconcile`` reads like the consumers do).
_ENV_PREFIXES = ("AWS_", "XENDIT_", "ERPNEXT_", "CHARTMOGUL_", "MAUTIC_")


def write_env_file(log_dir: Path, stage: str, env: dict[str, str]) -> Path:
    """``.local/env``: the variables that point ``billing`` and boto at the local stand-in and sandboxes."""
    path = log_dir.parent / "env"
    lines = [f"export {k}={v}" for k, v in sorted(env.items()) if k.startswith(_ENV_PREFIXES)]
    path.write_text("\n".join([*lines, f"export BILLING_STAGE={stage}", ""]))
    return path


def _provision(stage: str, env: dict[str, str]) -> None:
    from lovia_billing.provision import provision
    from lovia_billing.topology import Topology

    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    provision(Topology(stage), region=REGION, purge=True)


def run_stack(
    stage: str = "local",
    *,
    log_dir: Path = Path(".local/logs"),
    dedup_window: int = 300,
    only: Callable[[Component], bool] = lambda _c: True,
    stop: threading.Event | None = None,
    port_offset: int = 0,
    max_restarts: int = MAX_RESTARTS,
) -> int:
    """Start the stack and block until ``stop`` is set or a signal arrives; returns the exit code."""
    stop = stop or threading.Event()
    stack = [c for c in components(stage=stage, port_offset=port_offset) if only(c)]
    children = [Child(c, log_dir / f"{c.name}.log") for c in stack]
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    base_env.setdefault("LOG_LEVEL", "INFO")
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for child in children:
            if stop.is_set():
                break
            if child.component.kind == "aws" and dedup_window != 300:
                child.component = Component(
                    child.component.name,
                    (*child.component.command, "--dedup-window", str(dedup_window)),
                    child.component.port,
                    child.component.env,
                    child.component.kind,
                )
            _start(child, base_env)
            ready = _wait_ready(child, "/health/ready" if child.component.name == "ingest" else "/")
            if child.component.kind == "aws" and ready:
                aws_env = next((c.env for c in stack if c.name == "ingest"), {})
                _provision(stage, aws_env)
                consumer_env = next((c.env for c in stack if c.kind == "consumer"), {})
                write_env_file(log_dir, stage, {**consumer_env, **aws_env})
            _status(child, "ready" if ready and child.url else "running" if ready else "failed")
            if not ready:
                console.print(f"[red]{child.component.name} did not start; see {child.log_path}[/]")
                return 1
        console.print(f"Logs: {log_dir}/<component>.log. For the billing command: . {log_dir.parent}/env")
        console.print(
            f"[bold]Local stack up.[/] Ingest http://127.0.0.1:{3005 + port_offset} (API key "
            f"'local-dev-api-key'), docs http://127.0.0.1:{3005 + port_offset}/schema. "
            "Ctrl-C stops everything."
        )
        aws_env = next((c.env for c in stack if c.name == "ingest"), {})
        while not stop.wait(1.0):
            for child in children:
                if not stop.is_set() and child.process is not None and child.process.poll() is not None:
                    _restart(child, stage, base_env, aws_env, max_restarts)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        console.print("stopping the local stack...")
        _stop_all(children)
        console.print("stopped.")


def _restart(
    child: Child, stage: str, base_env: dict[str, str], aws_env: dict[str, str], max_restarts: int
) -> None:
    """Say which component died and start it again (the stand-in: with its queues and tables)."""
    assert child.process is not None
    name, code = child.component.name, child.process.returncode
    if child.restarts >= max_restarts:
        console.print(
            f"[red]{name} died (exit {code}); not restarted: it was restarted {max_restarts} times "
            f"already. See {child.log_path}[/]",
            soft_wrap=True,  # one line, however long
        )
        child.process = None
        return
    child.restarts += 1
    if child.component.kind == "aws":
        console.print(
            f"[red]{name} died (exit {code}); restarting it ({child.restarts}/{max_restarts}): its "
            "queues, messages and tables were in memory and are lost; the stage's queues and tables "
            f"are provisioned again, empty. See {child.log_path}[/]",
            soft_wrap=True,
        )
    else:
        console.print(
            f"[red]{name} died (exit {code}); restarting it ({child.restarts}/{max_restarts}). "
            f"See {child.log_path}[/]",
            soft_wrap=True,
        )
    _start(child, base_env)
    ready = _wait_ready(child, "/health/ready" if name == "ingest" else "/")
    if ready and child.component.kind == "aws":
        _provision(stage, aws_env)
    _status(child, "ready" if ready and child.url else "running" if ready else "failed")


def dev(
    stage: Annotated[str, typer.Option(help="stage name for queues and tables")] = "local",
    dedup_window: Annotated[int, typer.Option(help="SQS FIFO deduplication window of the stand-in, s")] = 300,
    logs: Annotated[Path, typer.Option(help="folder for each component's log")] = Path(".local/logs"),
    port_offset: Annotated[
        int, typer.Option(help="add this to every port (a second stack beside the first)")
    ] = 0,
    max_restarts: Annotated[
        int, typer.Option(help="how many times each component that dies is started again")
    ] = MAX_RESTARTS,
) -> None:
    """Run the local stack in the foreground (AWS stand-in, sandboxes, ingest, consumers).

    A component that dies is started again (at most --max-restarts times); when the AWS stand-in
    dies, its in-memory queues and tables are lost and provisioned again, empty.

    Example: billing dev --stage local
    """
    raise typer.Exit(
        run_stack(
            stage, log_dir=logs, dedup_window=dedup_window, port_offset=port_offset, max_restarts=max_restarts
        )
    )
