"""The ingest fuzzed from its own OpenAPI document (schemathesis), on loopback against the stand-in.

Every generated request, valid or not, with and without credentials: never a 5xx, every answer
documented and matching its schema, and a refused request queues nothing.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from billing_cli.local_stack import LOCAL_API_KEY, LOCAL_CALLBACK_TOKEN
from billing_testing.e2e import Queues
from billing_testing.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
AUTH = {"Authorization": f"Bearer {LOCAL_API_KEY}", "x-callback-token": LOCAL_CALLBACK_TOKEN}
CREDENTIALS = {"authorization", "x-callback-token"}
FUZZ = settings(
    max_examples=25,
    deadline=None,
    database=None,  # no .hypothesis/ folder left in the tree
    suppress_health_check=list(HealthCheck),
    # A fixed seed in `make test`, so a green run stays green; FUZZ_RANDOM=1 explores new examples
    # (it found the two 500s fixed on 2026-11-30).
    derandomize=os.environ.get("FUZZ_RANDOM") != "1",
)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(Path(tmp_path_factory.mktemp("fuzz-logs")), stage="fuzz")
    stack.start(only=("aws", "ingest"))
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def queues(ingest: Stack) -> Queues:
    return Queues(ingest)


def _operations(stack: Stack) -> list[Any]:
    loaded = schemathesis.openapi.from_url(stack.url("ingest") + "/schema/openapi.json")
    operations: list[Any] = []
    for result in loaded.get_all_operations():
        if isinstance(result, schemathesis.core.result.Err):
            raise AssertionError(f"the ingest's OpenAPI has an invalid operation: {result.err()}")
        operations.append(result.ok())
    return operations


def _sources(queues: Queues) -> int:
    """Messages on the four source queues (no consumer runs here, so they only grow)."""
    counts = queues.counts()
    return sum(n for name, n in counts.items() if not name.endswith("-dlq"))


def _fuzz(
    operation: Any, mode: GenerationMode, credentials: bool, base_url: str, queues: Queues, seen: Counter[int]
) -> None:
    protected = operation.path.startswith(("/v1", "/webhooks"))

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def exercise(case: Any) -> None:
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in CREDENTIALS}
        case.headers = {**headers, **(AUTH if credentials else {})}
        before = _sources(queues)
        response = case.call_and_validate(base_url=base_url, checks=CHECKS)
        seen[response.status_code] += 1
        if protected and not credentials:
            assert response.status_code == 401, response.text
        if response.status_code >= 400:  # refused: nothing queued
            assert _sources(queues) == before, f"{case.method} {case.path} -> {response.status_code}"

    exercise()


# schemathesis' own pytest loader (``from_fixture``) reads ``node._nodeid``, which pytest 9 removed;
# the library's strategies under Hypothesis' ``@given`` do the same work.
@pytest.mark.parametrize("credentials", [True, False], ids=["with-credentials", "without-credentials"])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_request_is_answered_as_documented(
    ingest: Stack, queues: Queues, credentials: bool, mode: GenerationMode
) -> None:
    operations = _operations(ingest)
    assert len(operations) >= 10
    seen: Counter[int] = Counter()
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not operation.path.startswith(("/v1", "/webhooks")):
            continue  # the health routes take no input: nothing to get wrong
        _fuzz(operation, mode, credentials, ingest.url("ingest"), queues, seen)
    # The run did reach what it claims to test: accepted writes, refusals of bad input, 401s.
    if not credentials:
        assert seen[401] >= 100, seen
    elif mode is GenerationMode.POSITIVE:
        # The document is looser than the models (see docs/reliability.md): most schema-valid bodies
        # are still refused with 422, which is documented. What matters here: answered, no 5xx.
        assert sum(seen.values()) >= 150, seen
        # The oracle itself: an accepted write does show on the queues (customer.upserted: 3 queues).
        before = _sources(queues)
        accepted = httpx.put(
            ingest.url("ingest") + "/v1/customers/cus_fuzz_oracle",
            headers=AUTH,
            json={"email": "oracle@example.co.id", "name": "Oracle"},
            timeout=10,
        )
        assert accepted.status_code == 202, accepted.text
        assert _sources(queues) == before + 3
    else:
        assert sum(n for status, n in seen.items() if status in (400, 413, 415, 422)) >= 50, seen
