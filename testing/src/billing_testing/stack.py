"""The whole local stack as real processes on free loopback ports, for reliability tests and bench/e2e.

Same commands and environment as ``billing_cli.local_stack.components()`` (the one place the local
wiring is written), with every port replaced by a free one and every URL rewritten to match. Each
component runs in its own process group (``start_new_session``) so it can be stopped, SIGKILLed or
restarted alone, and so that stopping the stack touches only the processes it started.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from billing_cli.local_stack import PROCESS_ENV, REGION, Component, components
from billing_testing.servers import free_port

#: Short consumer timings: a crashed worker's messages and claims come back in seconds, not minutes.
FAST_CONSUMER_ENV: dict[str, str] = {
    "CONSUMER_WAIT_SECONDS": "1",
    "CONSUMER_VISIBILITY_TIMEOUT": "4",
    "CONSUMER_CLAIM_SECONDS": "5",
    "CONSUMER_BACKOFF_BASE": "0.2",
    "CONSUMER_BACKOFF_CAP": "2",
    # A breaker opened by a burst of injected faults probes again within a second or two.
    "CONSUMER_BREAKER_WINDOW_SECONDS": "10",
    "CONSUMER_BREAKER_PROBE_SECONDS": "0.5",
    "CONSUMER_BREAKER_PROBE_CAP_SECONDS": "2",
    "CONSUMER_GRACE_SECONDS": "3",
    "CONSUMER_METRICS_SECONDS": "3600",
    # Injected timeouts hang longer than this, so the client gives up first, as on a real network.
    "XENDIT_TIMEOUT_SECONDS": "2",
    "ERPNEXT_TIMEOUT_SECONDS": "2",
    "CHARTMOGUL_TIMEOUT_SECONDS": "2",
    "MAUTIC_TIMEOUT_SECONDS": "2",
    "LOG_LEVEL": "WARNING",
}
CONSUMERS = ("xendit-sync", "erpnext-sync", "chartmogul-sync", "mautic-sync")
SANDBOXES = ("xendit-sandbox", "erpnext-sandbox", "chartmogul-sandbox", "mautic-sandbox")
READY_TIMEOUT = 30.0
_URL = re.compile(r"http://127\.0\.0\.1:(\d+)")


@dataclass
class Proc:
    """One component: its command line, environment, port, log, and the process while it runs."""

    name: str
    kind: str
    args: list[str]
    env: dict[str, str]
    port: int | None
    log_path: Path
    base_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    started_wall: float = 0.0
    ready_seconds: float | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        if self.port is None:
            raise ValueError(f"{self.name} listens on no port")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __post_init__(self) -> None:
        self.base_env = dict(self.env)


def _executable(command: Iterable[str]) -> list[str]:
    """``python`` and the workspace's console scripts from the interpreter running us."""
    first, *rest = command
    if first == "python":
        return [sys.executable, *rest]
    script = Path(sys.executable).parent / first
    return [str(script) if script.exists() else (shutil.which(first) or first), *rest]


class Stack:
    """AWS stand-in, four sandboxes, the ingest and four consumers, each a child process.

    ``start()`` brings everything up (provisioning the stage's queues and tables in between) and
    waits until each HTTP component answers and the ingest is ready; ``stop()`` ends them all.
    ``kill``/``frozen``/``stop_component``/``start_component``/``restart`` act on one component;
    ``add_ingest`` starts another ingest replica on its own port.
    """

    def __init__(
        self,
        log_dir: Path,
        *,
        stage: str = "rel",
        dedup_window: int = 300,
        consumer_env: Mapping[str, str] | None = None,
        sandbox_env: Mapping[str, str] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.stage = stage
        self.procs: dict[str, Proc] = {}
        wiring = components(stage=stage)
        defaults = {c.port: c.name for c in wiring if c.port is not None}
        self._ports = {name: free_port() for name in defaults.values()}
        #: Where each component's default port (``make run``'s) is in this stack.
        self.port_for_default = {port: self._ports[name] for port, name in defaults.items()}
        by_default_port = {str(default): str(port) for default, port in self.port_for_default.items()}

        def rewrite(value: str) -> str:
            return _URL.sub(lambda m: f"http://127.0.0.1:{by_default_port.get(m[1], m[1])}", value)

        base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        for component in wiring:
            env = {**base, **PROCESS_ENV, **{k: rewrite(v) for k, v in component.env.items()}}
            if component.kind != "aws":
                env["HOST"] = "127.0.0.1"  # loopback only
            if component.kind == "consumer":
                env.update(FAST_CONSUMER_ENV)
                env.update(consumer_env or {})
                env["HEALTH_FILE"] = str(log_dir / f"{component.name}.health")  # ready = first poll
            if component.kind == "sandbox":
                env.update(sandbox_env or {})
            self.procs[component.name] = self._proc(component, env, dedup_window)
        self.aws_env = {k: v for k, v in self.procs["ingest"].env.items() if k.startswith("AWS_")}

    def _proc(self, component: Component, env: dict[str, str], dedup_window: int) -> Proc:
        port = self._ports.get(component.name)
        args = _executable(component.command)
        args = [a if a != "0.0.0.0" else "127.0.0.1" for a in args]
        if "--port" in args:
            args[args.index("--port") + 1] = str(port)
        if component.kind == "aws":
            args += ["--dedup-window", str(dedup_window)]
        if component.name == "ingest":
            env["PORT"] = str(port)
        return Proc(component.name, component.kind, args, env, port, self.log_dir / f"{component.name}.log")

    # ---- the whole stack -------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return self.procs[name].url

    def start(self, only: Iterable[str] | None = None) -> None:
        """Start every component (or ``only`` those, e.g. ``("aws", "ingest")``), in dependency order."""
        wanted = set(only) if only is not None else set(self.procs)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            if "aws" in wanted:
                self.start_component("aws")
                self.provision()
            # Independent components start together: a sandbox or consumer spends its start-up importing.
            for group in (SANDBOXES, ("ingest",), CONSUMERS):
                names = [n for n in group if n in wanted]
                for name in names:
                    self.start_component(name, wait=False)
                for name in names:
                    self.wait_ready(name)
        except BaseException:
            self.stop()
            raise

    def provision(self) -> dict[str, str]:
        """Create (or purge) the stage's queues and tables in the stand-in."""
        from lovia_billing.provision import provision
        from lovia_billing.topology import Topology

        saved = {k: os.environ.get(k) for k in self.aws_env}
        os.environ.update(self.aws_env)
        try:
            return provision(Topology(self.stage), region=REGION, purge=True)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def stop(self) -> None:
        """SIGTERM every running component (consumers first), SIGKILL what is still up after 10 s."""
        order = [p for p in reversed(list(self.procs.values())) if p.running()]
        for proc in order:
            self._signal(proc, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in order:
            self._reap(proc, max(0.1, deadline - time.monotonic()))
        for proc in self.procs.values():
            if proc._log is not None:
                proc._log.close()
                proc._log = None

    def __enter__(self) -> Stack:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # ---- one component ---------------------------------------------------------------------------

    def start_component(self, name: str, *, wait: bool = True, env: Mapping[str, str] | None = None) -> Proc:
        """Start one component (``env``: overrides for this run only) and wait until it is ready."""
        proc = self.procs[name]
        if proc.running():
            raise RuntimeError(f"{name} is already running (pid {proc.pid})")
        proc.env = {**proc.base_env, **(env or {})}  # overrides last until the next start
        if proc._log is None:
            proc._log = proc.log_path.open("ab")
        if proc.kind == "consumer":
            Path(proc.env["HEALTH_FILE"]).unlink(missing_ok=True)
        proc.started_at = time.monotonic()
        proc.started_wall = time.time()
        proc.ready_seconds = None
        proc.process = subprocess.Popen(  # noqa: S603 - our own commands, no shell
            proc.args, env=proc.env, stdout=proc._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        if wait:
            self.wait_ready(name)
        return proc

    def wait_ready(self, name: str, timeout: float = READY_TIMEOUT) -> None:
        """Until the component answers HTTP (the ingest: ``/health/ready`` is 200); a consumer: its
        first poll, seen as its health file being touched."""
        proc = self.procs[name]
        deadline = time.monotonic() + timeout
        path = "/health/ready" if proc.kind == "service" else "/"
        while time.monotonic() < deadline:
            if not proc.running():
                raise RuntimeError(f"{name} exited ({self._tail(proc)})")
            if proc.kind == "consumer":
                if Path(proc.env["HEALTH_FILE"]).exists():
                    proc.ready_seconds = time.monotonic() - proc.started_at
                    return
            else:
                try:
                    status = httpx.get(proc.url + path, timeout=1.0).status_code
                    if status < 500 and (proc.kind != "service" or status == 200):
                        proc.ready_seconds = time.monotonic() - proc.started_at
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.02)
        raise TimeoutError(f"{name} not ready within {timeout} s ({self._tail(proc)})")

    def kill(self, name: str) -> None:
        """SIGKILL the component's process group (a crash: nothing is flushed or released)."""
        proc = self.procs[name]
        if proc.running():
            self._signal(proc, signal.SIGKILL)
            self._reap(proc, 10)

    @contextlib.contextmanager
    def frozen(self, name: str) -> Iterator[None]:
        """The component stopped (SIGSTOP) for the block, as a host that stops answering: the
        kernel still accepts its connections and buffers the requests, which it processes late
        when it goes on (SIGCONT, also if the block fails)."""
        proc = self.procs[name]
        if not proc.running():
            raise RuntimeError(f"{name} is not running")
        self._signal(proc, signal.SIGSTOP)
        try:
            yield
        finally:
            self._signal(proc, signal.SIGCONT)

    def stop_component(self, name: str, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait (SIGKILL after ``timeout``); returns the exit code."""
        proc = self.procs[name]
        if not proc.running():
            return None
        self._signal(proc, signal.SIGTERM)
        return self._reap(proc, timeout)

    def restart(self, name: str, *, hard: bool = False, env: Mapping[str, str] | None = None) -> Proc:
        if hard:
            self.kill(name)
        else:
            self.stop_component(name)
        return self.start_component(name, env=env)

    def add_ingest(self, name: str) -> Proc:
        """Another ingest replica on its own free port (same stage, queues and keys)."""
        template = self.procs["ingest"]
        port = free_port()
        env = {**template.env, "PORT": str(port)}
        self.procs[name] = Proc(
            name, template.kind, list(template.args), env, port, self.log_dir / f"{name}.log"
        )
        return self.start_component(name)

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items() if p.running() and p.pid is not None}

    # ---- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _signal(proc: Proc, sig: signal.Signals) -> None:
        assert proc.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.process.pid, sig)  # the group we created with start_new_session

    def _reap(self, proc: Proc, timeout: float) -> int | None:
        assert proc.process is not None
        try:
            return proc.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(proc, signal.SIGKILL)
            return proc.process.wait(timeout=10)

    @staticmethod
    def _tail(proc: Proc, lines: int = 5) -> str:
        try:
            text = proc.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return f"{proc.log_path}: " + " | ".join(text[-lines:])


def scenario_stack(log_dir: Path, stage: str) -> Stack:
    """A stack for scenario tests (end to end, the model, reconciliation): SQS forgets a
    deduplication id after 2 s, so a test can send a message again, and the Xendit sandbox's clock
    runs 1000x fast, so expiries and callback retries come within milliseconds."""
    return Stack(log_dir, stage=stage, dedup_window=2, sandbox_env={"XENDIT_SANDBOX_TIME_SCALE": "0.001"})


def stack_info(stack: Stack) -> dict[str, Any]:
    """Where each component listens, for logs and reports."""
    return {name: {"pid": p.pid, "port": p.port} for name, p in stack.procs.items()}


def billing_cli(stack: Stack, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run the operators' ``billing`` command against the stack's stage and AWS stand-in."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **stack.aws_env}
    return subprocess.run(  # noqa: S603 - our own command, no shell
        [*_executable(["billing"]), *args, "--stage", stack.stage],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
