"""Concurrent requests under one ``Idempotency-Key`` or one natural key, over HTTP to the real ingest.

Ten requests are released at once from ten threads; whatever the interleaving, one is accepted and
the others are refused with nothing queued: one message per routed queue, one ledger entry.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import CUSTOMER, INVOICE_REQUEST
from lovia_billing import parse_event

CONCURRENT = 10
RUNS = 4


def at_once(requests: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run every request from its own thread, all released by one barrier."""
    barrier = threading.Barrier(len(requests))

    def run(request: Callable[[], httpx.Response]) -> httpx.Response:
        barrier.wait(timeout=10)
        return request()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(run, requests))


def statuses(responses: list[httpx.Response]) -> Counter[int]:
    return Counter(r.status_code for r in responses)


def invoice(invoice_id: str) -> dict[str, Any]:
    return {**INVOICE_REQUEST, "invoice_id": invoice_id}


@pytest.mark.parametrize("run", range(RUNS))
def test_one_key_ten_different_invoices_at_once_queues_exactly_one(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[dict[str, Any]]], run: int
) -> None:
    key = f"race-invoice-{run}"
    bodies = [invoice(f"inv_race_{run}_{i}") for i in range(CONCURRENT)]
    responses = at_once(
        [
            lambda body=body: api.post("/v1/invoices", json=body, headers={"Idempotency-Key": key})
            for body in bodies
        ]
    )
    assert statuses(responses)[202] == 1, [r.text for r in responses]
    refused = [r for r in responses if r.status_code != 202]
    assert all(r.status_code == 422 for r in refused), [r.text for r in refused]
    assert all("Idempotency-Key" in r.json()["error"]["message"] for r in refused)
    winner = next(r for r in responses if r.status_code == 202).json()
    assert queues.count("xendit") == 1
    assert parse_event(queues.peek("xendit")[0]["Body"]).event_id == winner["event_id"]
    assert [item["event_id"]["S"] for item in ledger_items()] == [winner["event_id"]]
    assert queues.total() == 1


@pytest.mark.parametrize("run", range(RUNS))
def test_one_key_ten_customers_at_once_queues_exactly_one(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[dict[str, Any]]], run: int
) -> None:
    key = f"race-customer-{run}"
    responses = at_once(
        [
            lambda i=i: api.put(
                f"/v1/customers/cus_race_{i}", json=CUSTOMER, headers={"Idempotency-Key": key}
            )
            for i in range(CONCURRENT)
        ]
    )
    assert statuses(responses) == {202: 1, 422: CONCURRENT - 1}, [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 202).json()
    for integration in ("erpnext", "chartmogul", "mautic"):
        assert queues.count(integration) == 1, integration
    assert queues.total() == 3
    assert [item["event_id"]["S"] for item in ledger_items()] == [winner["event_id"]]


def test_the_same_request_ten_times_at_once_is_one_event_and_duplicates_are_told_to_retry(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[dict[str, Any]]]
) -> None:
    headers = {"Idempotency-Key": "race-same"}
    responses = at_once(
        [lambda: api.put("/v1/customers/cus_same", json=CUSTOMER, headers=headers)] * CONCURRENT
    )
    counted = statuses(responses)
    assert set(counted) <= {202, 409}, [r.text for r in responses]
    assert counted[202] >= 1
    for busy in (r for r in responses if r.status_code == 409):
        assert busy.json()["error"]["code"] == "request_in_progress"
        assert int(busy.headers["Retry-After"]) >= 1
    assert len({r.json()["event_id"] for r in responses if r.status_code == 202}) == 1
    # Once answered, the same request answers the same, however often it is sent.
    again = api.put("/v1/customers/cus_same", json=CUSTOMER, headers=headers)
    assert again.status_code == 202
    assert again.json() == next(r for r in responses if r.status_code == 202).json()
    assert queues.count("mautic") == 1
    assert len(ledger_items()) == 1


def test_ten_bodies_for_one_invoice_id_at_once_one_202_the_rest_409_nothing_else_queued(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[dict[str, Any]]]
) -> None:
    bodies = [{**INVOICE_REQUEST, "description": f"variant {i}"} for i in range(CONCURRENT)]
    responses = at_once([lambda body=body: api.post("/v1/invoices", json=body) for body in bodies])
    assert statuses(responses) == {202: 1, 409: CONCURRENT - 1}, [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 202)
    accepted_body = bodies[responses.index(winner)]
    assert queues.count("xendit") == 1
    queued = parse_event(queues.peek("xendit")[0]["Body"])
    assert getattr(queued, "description") == accepted_body["description"]  # noqa: B009
    assert len(ledger_items()) == 1


def test_a_bad_body_under_a_key_reserves_nothing(
    api: httpx.Client, queues: QueueReader, ledger_items: Callable[[], list[dict[str, Any]]]
) -> None:
    headers = {"Idempotency-Key": "first-try-was-wrong"}
    bad = api.post("/v1/invoices", json={**INVOICE_REQUEST, "amount": "99"}, headers=headers)
    good = api.post("/v1/invoices", json=INVOICE_REQUEST, headers=headers)
    assert bad.status_code == 422, bad.text
    assert "sum of the lines" in bad.text
    assert good.status_code == 202, good.text
    assert queues.total() == 1
    assert len(ledger_items()) == 1
