"""One real stack for the end-to-end product tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from billing_testing.shop import Shop
from billing_testing.stack import Stack, scenario_stack


@pytest.fixture(scope="session")
def e2e_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with scenario_stack(Path(tmp_path_factory.mktemp("e2e-stack")), "e2e") as running:
        yield running


@pytest.fixture
async def shop(e2e_stack: Stack) -> AsyncIterator[Shop]:
    async with httpx.AsyncClient(timeout=30.0) as http:
        yield Shop(e2e_stack, http)
