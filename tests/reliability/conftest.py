"""One real local stack (every component a process on free loopback ports) for the reliability suite.

Each scenario uses its own customer and invoice ids, resets the sandboxes first, and records what
it injected in ``TALLY``; the terminal summary prints the table at the end of the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from billing_testing.e2e import Queues
from billing_testing.reliability import TALLY
from billing_testing.stack import SANDBOXES, Stack

# A 2 s SQS deduplication window lets "the same callback after the window" happen within a test;
# a compressed Xendit clock makes its callback retries (15 min, 45 min, ...) arrive in about a second.
DEDUP_WINDOW_SECONDS = 2
XENDIT_TIME_SCALE = "0.001"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir = Path(tmp_path_factory.mktemp("stack-logs"))
    started = time.monotonic()
    with Stack(
        log_dir,
        stage="rel",
        dedup_window=DEDUP_WINDOW_SECONDS,
        sandbox_env={"XENDIT_SANDBOX_TIME_SCALE": XENDIT_TIME_SCALE},
    ) as running:
        TALLY.startup_seconds = time.monotonic() - started
        yield running


@pytest.fixture
def fresh(stack: Stack) -> Stack:
    """The stack with every sandbox emptied and no fault rule left, every component running."""
    for name, proc in stack.procs.items():
        if proc.running() and proc.env != proc.base_env:
            stack.stop_component(name)  # a scenario's overrides end with it
        if not proc.running():
            stack.start_component(name)
    for name in SANDBOXES:
        httpx.delete(stack.url(name) + "/_sandbox/faults", timeout=10).raise_for_status()
        httpx.post(stack.url(name) + "/_sandbox/reset", timeout=10).raise_for_status()
    Queues(stack).purge()  # whatever an earlier failed scenario left behind
    httpx.post(
        stack.url("xendit-sandbox") + "/_sandbox/config", json={"duplicates": 0, "shuffle": False}, timeout=10
    ).raise_for_status()
    return stack


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.rows:
        terminalreporter.write_sep("=", "reliability summary")
        for line in TALLY.table():
            terminalreporter.write_line(line)
