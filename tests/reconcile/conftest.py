"""One real stack for the reconciliation tests, and ``billing reconcile`` run against it as a process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from billing_testing.reconcile import Run, run_reconcile
from billing_testing.shop import Shop
from billing_testing.stack import Stack, scenario_stack


@pytest.fixture(scope="session")
def reconcile_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with scenario_stack(Path(tmp_path_factory.mktemp("reconcile-stack")), "recon") as running:
        yield running


@pytest.fixture
async def shop(reconcile_stack: Stack) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        yield Shop(reconcile_stack, http)


@pytest.fixture
def since() -> str:
    """The start of this test's window: now (a second back), so only this test's records are checked."""
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


@pytest.fixture
def reconcile(reconcile_stack: Stack, tmp_path: Path) -> Callable[..., Run]:
    """``reconcile("--since", t, "--repair", RECONCILE_PAGE_SIZE="5")``: one run, its JSON report parsed."""

    def call(*args: str, **env: str) -> Run:
        return run_reconcile(reconcile_stack, tmp_path / "reports", *args, env=env)

    return call
