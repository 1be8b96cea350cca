"""A body nested thousands of levels deep is malformed JSON (400), never a crash (it was a 500)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import RECURRING_CYCLE_CALLBACK
from ingest._request import MAX_JSON_DEPTH, json_depth
from ingest.app import create_app
from lovia_billing import IngestSettings
from lovia_billing.topology import Topology

JSON_ROUTES = [
    ("PUT", "/v1/customers/cus_deep"),
    ("POST", "/v1/invoices"),
    ("POST", "/v1/subscriptions/sub_deep/cancel"),
    *(
        ("POST", f"/webhooks/xendit/{route}")
        for route in ("invoice", "fva", "payment", "recurring", "ewallet", "refund", "payment_method")
    ),
]


@pytest.fixture
def client(
    topology: Topology, serve_asgi: Callable[[Any], str], tokens: dict[str, str]
) -> Iterator[httpx.Client]:
    """The ingest with its default body limit (64 KiB), as deployed."""
    settings = IngestSettings(
        billing_stage=topology.stage, billing_api_keys=tokens["api"], xendit_callback_token=tokens["callback"]
    )
    with httpx.Client(base_url=serve_asgi(create_app(settings)), timeout=10) as http:
        yield http


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


def _post(
    client: httpx.Client, tokens: dict[str, str], method: str, path: str, body: bytes
) -> httpx.Response:
    headers = {
        "content-type": "application/json",
        "authorization": f"Bearer {tokens['api']}",
        "x-callback-token": tokens["callback"],
    }
    return client.request(method, path, content=body, headers=headers)


def _assert_malformed(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "malformed_json"
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in error["message"]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_ten_thousand_levels_are_400_malformed_json_on_every_json_route(
    client: httpx.Client, tokens: dict[str, str], queues: QueueReader, method: str, path: str
) -> None:
    body = _nested(10_000)  # 20 KB, far under the body limit: the nesting is what is refused
    _assert_malformed(_post(client, tokens, method, path, body))
    assert queues.total() == 0


@pytest.mark.parametrize(
    "body",
    [b'{"a":' * 5000 + b"1" + b"}" * 5000, _nested(MAX_JSON_DEPTH + 1)],
    ids=["objects", "just-too-deep"],
)
@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/v1/customers/cus_deep"), ("POST", "/webhooks/xendit/payment")]
)
def test_nesting_past_the_limit_is_400_whatever_it_is_made_of(
    client: httpx.Client, tokens: dict[str, str], queues: QueueReader, method: str, path: str, body: bytes
) -> None:
    _assert_malformed(_post(client, tokens, method, path, body))
    assert queues.total() == 0


def test_a_body_as_deep_as_allowed_is_judged_on_its_content(
    client: httpx.Client, tokens: dict[str, str]
) -> None:
    deep: object = "leaf"
    for _ in range(MAX_JSON_DEPTH - 3):  # inside data.metadata: envelope, data, metadata
        deep = [deep]
    body = {
        **RECURRING_CYCLE_CALLBACK,
        "data": {**RECURRING_CYCLE_CALLBACK["data"], "metadata": {"deep": deep}},
    }
    assert json_depth(body) == MAX_JSON_DEPTH
    response = client.post(
        "/webhooks/xendit/recurring",
        content=json.dumps(body),
        headers={"content-type": "application/json", "x-callback-token": tokens["callback"]},
    )
    assert response.status_code == 200, response.text  # taken: its depth is within the limit


def test_json_depth() -> None:
    assert json_depth(1) == 0
    assert json_depth([]) == 1
    assert json_depth({"a": [1, {"b": []}]}) == 4
    assert json_depth(json.loads(_nested(500))) == MAX_JSON_DEPTH + 1  # stops counting past the limit
