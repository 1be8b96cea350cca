"""``billing reconcile`` run as a process against a running stack, for tests and ``bench/reconcile.py``.

The command gets the consumers' own downstream settings (the stack's sandbox URLs and local keys)
and the stack's AWS settings, as it would get its task's secret and environment in AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from billing_testing.stack import Stack, _executable

DOWNSTREAM = ("XENDIT_", "ERPNEXT_", "CHARTMOGUL_", "MAUTIC_")


@dataclass
class Run:
    """One run: its exit code, its JSON report, what it printed on stderr, how long it took."""

    exit_code: int
    report: dict[str, Any]
    stderr: str
    seconds: float

    def kinds(self) -> list[tuple[str, str, str, str]]:
        """(kind, integration, record, action) of every difference, sorted."""
        return sorted(
            (d["kind"], d["integration"], d["record"], d["action"]) for d in self.report["differences"]
        )

    def about(self, key: str) -> list[dict[str, Any]]:
        return [d for d in self.report["differences"] if d["key"] == key]


def reconcile_env(stack: Stack, **extra: str) -> dict[str, str]:
    """The consumers' downstream settings (the stack's sandboxes and keys), AWS's, and ``extra``."""
    consumer = stack.procs["xendit-sync"].env
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", *DOWNSTREAM))}
    downstream = {k: v for k, v in consumer.items() if k.startswith(DOWNSTREAM)}
    # The local consumers finish a booking in well under a second: a short second look will do.
    quick = {"RECONCILE_SECOND_LOOK_SECONDS": "1"}
    return {**base, **stack.aws_env, **downstream, **quick, **extra}


def run_reconcile(
    stack: Stack,
    report_dir: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 600.0,
) -> Run:
    """``billing reconcile <args> --json`` against ``stack``; exit 0 or 1 expected (2 fails here)."""
    started = time.monotonic()
    command = [*_executable(["billing"]), "reconcile", *args, "--json", "--report-dir", str(report_dir)]
    result = subprocess.run(  # noqa: S603 - our own command, no shell
        [*command, "--stage", stack.stage],
        env=reconcile_env(stack, **(env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    took = time.monotonic() - started
    if result.returncode not in (0, 1):
        raise AssertionError(f"billing reconcile exited {result.returncode}: {result.stderr}")
    return Run(result.returncode, json.loads(result.stdout), result.stderr, took)
