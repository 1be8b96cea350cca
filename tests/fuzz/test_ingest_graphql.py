"""The ingest's GraphQL API fuzzed from ``docs/schema.graphql`` (schemathesis), on loopback.

Every root field, with generated arguments and selections, with and without a key. Every answer
is JSON; every error carries a code; none is ``internal_error`` (an unexpected failure); a refused
mutation queues nothing; without a key every request is 401. Bounded: 20 examples a field.

Schemathesis' own response check counts any GraphQL error as a server failure; here refusing bad
input is a feature (coded errors), so the oracle is ours and schemathesis generates the documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing_cli.local_stack import LOCAL_API_KEY
from billing_testing.e2e import Queues
from billing_testing.stack import Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schema.graphql"
AUTH = {"Authorization": f"Bearer {LOCAL_API_KEY}"}
FUZZ = settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
#: Codes an answer may carry: the REST API's and the GraphQL layer's own (ingest.graphql.errors).
CODES = frozenset(
    {
        "bad_request",
        "validation_error",
        "conflict",
        "request_in_progress",
        "graphql_parse_failed",
        "graphql_validation_failed",
        "query_too_deep",
        "query_too_large",
        "query_too_costly",
        "too_many_aliases",
    }
)


def _string(strategy: st.SearchStrategy[str]) -> st.SearchStrategy[graphql.ValueNode]:
    return strategy.map(lambda value: graphql.StringValueNode(value=value))


# The schema's own scalars, as clients send them (and a few they should not).
schemathesis.graphql.scalar(
    "Money",
    _string(st.one_of(st.from_regex(r"\A[0-9]{1,9}(\.[0-9]{1,3})?\Z"), st.text(max_size=8))),
)
schemathesis.graphql.scalar("Date", _string(st.dates().map(lambda d: d.isoformat())))
schemathesis.graphql.scalar(
    "DateTime", _string(st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()))
)


@pytest.fixture(scope="module")
def ingest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(Path(tmp_path_factory.mktemp("graphql-fuzz-logs")), stage="gqlfuzz")
    stack.start(only=("aws", "ingest"))
    try:
        yield stack
    finally:
        stack.stop()


def _operations() -> list[Any]:
    loaded = schemathesis.graphql.from_path(SCHEMA)
    return [result.ok() for result in loaded.get_all_operations()]


def _sources(queues: Queues) -> int:
    return sum(n for name, n in queues.counts().items() if not name.endswith("-dlq"))


def _fuzz(operation: Any, http: httpx.Client, url: str, queues: Queues, seen: Counter[str]) -> None:
    mutation = operation.label.startswith("Mutation.")

    @FUZZ
    @given(case=operation.as_strategy())
    def exercise(case: Any) -> None:
        before = _sources(queues) if mutation else 0
        response = http.post(url, json={"query": case.body}, headers=AUTH)
        assert response.status_code == 200, response.text
        body = response.json()
        assert isinstance(body, dict)
        assert set(body) <= {"data", "errors"}, body
        codes = [error["extensions"]["code"] for error in body.get("errors", [])]
        assert set(codes) <= CODES, body
        seen.update(codes or ["ok"])
        if mutation and codes:
            assert _sources(queues) == before, body

    exercise()


def test_every_root_field_answers_json_with_coded_errors_and_nothing_unexpected(ingest: Stack) -> None:
    operations = _operations()
    assert len(operations) == 8  # 5 queries, 3 mutations
    queues = Queues(ingest)
    seen: Counter[str] = Counter()
    with httpx.Client(timeout=30) as http:
        for operation in operations:
            _fuzz(operation, http, ingest.url("ingest") + "/graphql", queues, seen)
    # The run reached what it claims to test: answers, and refusals of bad input.
    assert seen["ok"] >= 40, seen
    assert seen["bad_request"] + seen["validation_error"] >= 10, seen


def test_without_a_key_every_generated_request_is_401(ingest: Stack) -> None:
    url = ingest.url("ingest") + "/graphql"
    refused = 0
    with httpx.Client(timeout=30) as http:
        for operation in _operations():

            @settings(FUZZ, max_examples=5)
            @given(case=operation.as_strategy())
            def exercise(case: Any) -> None:
                nonlocal refused
                response = http.post(
                    url, json={"query": case.body}, headers={"Authorization": "Bearer wrong"}
                )
                assert response.status_code == 401
                assert response.json()["error"]["code"] == "unauthorized"
                refused += 1

            exercise()
    assert refused >= 30
