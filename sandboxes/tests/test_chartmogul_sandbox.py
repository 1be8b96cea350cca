"""The ChartMogul sandbox over HTTP: auth, ChartMogul's bodies, duplicates as 422, filters, limits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

KEY = "test-chartmogul-key"
DS = "ds_test_lovia"
INVOICE_EXISTS = "The external ID for this invoice already exists in our system."
LINE_ITEM_EXISTS = "The external ID for this line item already exists in our system."


@pytest.fixture
def base_url(sandbox_url: Callable[..., str]) -> str:
    return sandbox_url("chartmogul", api_key=KEY, data_source_uuid=DS)


@pytest.fixture
def api(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, auth=(KEY, ""), timeout=5) as client:
        yield client


def _customer(api: httpx.Client, external_id: str = "cus_1", ds: str = DS) -> dict[str, Any]:
    response = api.post(
        "/v1/customers", json={"data_source_uuid": ds, "external_id": external_id, "name": "A"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _plan(api: httpx.Client, external_id: str = "basic") -> dict[str, Any]:
    body = {"data_source_uuid": DS, "external_id": external_id, "name": "Basic", "interval_count": 1}
    response = api.post("/v1/plans", json={**body, "interval_unit": "month"})
    assert response.status_code == 201, response.text
    plan: dict[str, Any] = response.json()
    return plan


def _invoice(plan_uuid: str, external_id: str = "inv_1", **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "date": "2025-01-01T00:00:00Z",
        "currency": "IDR",
        "line_items": [
            {
                "type": "subscription",
                "external_id": f"{external_id}:basic",
                "subscription_external_id": "sub_1",
                "plan_uuid": plan_uuid,
                "service_period_start": "2025-01-01T00:00:00Z",
                "service_period_end": "2025-02-01T00:00:00Z",
                "amount_in_cents": 15_000_000,
            }
        ],
        **extra,
    }


# --- auth ----------------------------------------------------------------------------------------


def test_requests_without_the_api_key_get_chartmogul_401(base_url: str) -> None:
    for auth in (None, ("wrong", ""), (KEY, "not-the-key")):
        response = httpx.get(f"{base_url}/v1/ping", auth=auth)
        assert response.status_code == 401
        assert response.json() == {"code": 401, "message": "No valid API key provided", "param": None}


def test_the_key_is_the_user_name_and_the_password_empty_or_the_key(base_url: str) -> None:
    for password in ("", KEY):
        response = httpx.get(f"{base_url}/v1/ping", auth=(KEY, password))
        assert response.status_code == 200
        assert response.json() == {"data": "pong!"}


# --- customers -----------------------------------------------------------------------------------


def test_customer_is_created_with_chartmogul_blanks_not_nulls(api: httpx.Client) -> None:
    customer = _customer(api)
    assert customer["uuid"].startswith("cus_")
    assert (customer["email"], customer["company"], customer["mrr"], customer["status"]) == (
        "",
        "",
        0,
        "New Lead",
    )
    assert customer["data_source_uuids"] == [DS]
    assert customer["external_ids"] == ["cus_1"]


def test_duplicate_customer_external_id_is_422_with_the_documented_text(api: httpx.Client) -> None:
    _customer(api)
    response = api.post("/v1/customers", json={"data_source_uuid": DS, "external_id": "cus_1", "name": "B"})
    assert response.status_code == 422
    expected = "The external ID for this customer already exists in our system."
    assert response.json() == {"errors": {"external_id": expected}}


def test_customer_filters_by_external_id_and_data_source(api: httpx.Client) -> None:
    other = api.post("/v1/data_sources", json={"name": "Other"}).json()["uuid"]
    mine = _customer(api)
    _customer(api, ds=other)
    _customer(api, external_id="cus_2")
    both = api.get("/v1/customers", params={"external_id": "cus_1"}).json()["entries"]
    assert len(both) == 2  # the same external id in two data sources, as recorded
    found = api.get("/v1/customers", params={"external_id": "cus_1", "data_source_uuid": DS}).json()
    assert [c["uuid"] for c in found["entries"]] == [mine["uuid"]]
    none = api.get("/v1/customers", params={"external_id": "nobody", "data_source_uuid": DS})
    assert none.status_code == 200
    assert none.json()["entries"] == []
    assert none.json()["has_more"] is False


def test_customer_is_updated_by_patch(api: httpx.Client) -> None:
    customer = _customer(api)
    response = api.patch(
        f"/v1/customers/{customer['uuid']}", json={"email": "a@lovia.id", "company": "Lovia"}
    )
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["company"]) == ("a@lovia.id", "Lovia")


def test_missing_parameter_is_400_in_chartmogul_shape(api: httpx.Client) -> None:
    response = api.post("/v1/customers", json={"data_source_uuid": DS})
    assert response.status_code == 400
    assert response.json() == {
        "code": 400,
        "message": 'Parameter "external_id" is missing',
        "param": "external_id",
    }


def test_unknown_customer_is_404_with_error_and_details(api: httpx.Client) -> None:
    response = api.get("/v1/customers/cus_nope")
    assert response.status_code == 404
    assert response.json()["error"] == "Customer not found"
    assert response.json()["error_details"][0]["message"] == "Customer not found"


# --- plans ---------------------------------------------------------------------------------------


def test_plans_are_listed_by_external_id_and_unique_per_data_source(api: httpx.Client) -> None:
    plan = _plan(api)
    _plan(api, "pro")
    found = api.get("/v1/plans", params={"data_source_uuid": DS, "external_id": "basic"}).json()
    assert [p["uuid"] for p in found["plans"]] == [plan["uuid"]]
    again = api.post(
        "/v1/plans",
        json={
            "data_source_uuid": DS,
            "external_id": "basic",
            "name": "X",
            "interval_count": 1,
            "interval_unit": "month",
        },
    )
    assert again.status_code == 422
    assert again.json() == {
        "errors": {"external_id": "A plan with this identifier already exists in our system."}
    }


# --- invoices, transactions, subscriptions ---------------------------------------------------------


def test_invoice_import_is_201_with_chartmogul_shape(api: httpx.Client) -> None:
    customer, plan = _customer(api), _plan(api)
    response = api.post(
        f"/v1/import/customers/{customer['uuid']}/invoices", json={"invoices": [_invoice(plan["uuid"])]}
    )
    assert response.status_code == 201
    invoice = response.json()["invoices"][0]
    assert invoice["errors"] == {}
    assert invoice["date"] == "2025-01-01T00:00:00.000Z"
    line = invoice["line_items"][0]
    assert line["subscription_uuid"].startswith("sub_")
    assert (line["amount_in_cents"], line["discount_code"], line["tax_amount_in_cents"]) == (
        15_000_000,
        "",
        0,
    )
    assert line["prorated"] is False


def test_duplicate_invoice_is_422_with_nested_errors_never_409(api: httpx.Client) -> None:
    customer, plan = _customer(api), _plan(api)
    path = f"/v1/import/customers/{customer['uuid']}/invoices"
    api.post(path, json={"invoices": [_invoice(plan["uuid"])]})
    response = api.post(path, json={"invoices": [_invoice(plan["uuid"])]})
    assert response.status_code == 422
    [echo] = response.json()["invoices"]
    assert echo["external_id"] == "inv_1"
    assert echo["errors"] == {"external_id": INVOICE_EXISTS, "line_items.external_id": LINE_ITEM_EXISTS}
    assert len(api.get("/_sandbox/state").json()["invoices"]) == 1


def test_a_new_invoice_reusing_a_transaction_id_is_refused_with_that_key(api: httpx.Client) -> None:
    customer, plan = _customer(api), _plan(api)
    path = f"/v1/import/customers/{customer['uuid']}/invoices"
    txn = {"type": "payment", "result": "successful", "date": "2025-01-02T00:00:00Z", "external_id": "pay_1"}
    assert api.post(path, json={"invoices": [_invoice(plan["uuid"], transactions=[txn])]}).status_code == 201
    response = api.post(path, json={"invoices": [_invoice(plan["uuid"], "inv_2", transactions=[txn])]})
    assert response.status_code == 422
    assert response.json()["invoices"][0]["errors"] == {"transactions.external_id": "has already been taken"}


def test_subscription_line_without_plan_is_422(api: httpx.Client) -> None:
    customer = _customer(api)
    response = api.post(
        f"/v1/import/customers/{customer['uuid']}/invoices", json={"invoices": [_invoice("pl_nope")]}
    )
    assert response.status_code == 422
    assert "line_items.plan_uuid" in response.json()["invoices"][0]["errors"]


def test_import_for_a_non_customer_uuid_is_the_recorded_404(api: httpx.Client) -> None:
    plan = _plan(api)
    response = api.post("/v1/import/customers/cus_nope/invoices", json={"invoices": [_invoice(plan["uuid"])]})
    assert response.status_code == 404
    assert response.json()["error"] == "Invoice not found"


def test_transactions_are_added_once_per_external_id(api: httpx.Client) -> None:
    customer, plan = _customer(api), _plan(api)
    imported = api.post(
        f"/v1/import/customers/{customer['uuid']}/invoices", json={"invoices": [_invoice(plan["uuid"])]}
    )
    inv_uuid = imported.json()["invoices"][0]["uuid"]
    txn = {"type": "payment", "result": "successful", "date": "2025-01-02T00:00:00Z", "external_id": "pay_1"}
    first = api.post(
        f"/v1/import/invoices/{inv_uuid}/transactions", json={**txn, "amount_in_cents": 15_000_000}
    )
    assert first.status_code == 201
    assert first.json()["uuid"].startswith("tr_")
    assert first.json()["amount_in_cents"] == 15_000_000
    again = api.post(f"/v1/import/invoices/{inv_uuid}/transactions", json=txn)
    assert again.status_code == 422
    assert again.json() == {"errors": {"external_id": "has already been taken"}}
    listed = api.get(f"/v1/import/customers/{customer['uuid']}/invoices").json()
    assert [t["external_id"] for t in listed["invoices"][0]["transactions"]] == ["pay_1"]
    missing = api.post("/v1/import/invoices/inv_nope/transactions", json=txn)
    assert (missing.status_code, missing.json()["error"]) == (404, "Invoice not found")


def test_refunds_are_positive_transactions_no_larger_than_the_invoice(api: httpx.Client) -> None:
    customer, plan = _customer(api), _plan(api)
    imported = api.post(
        f"/v1/import/customers/{customer['uuid']}/invoices", json={"invoices": [_invoice(plan["uuid"])]}
    )
    path = f"/v1/import/invoices/{imported.json()['invoices'][0]['uuid']}/transactions"
    refund = {
        "type": "refund",
        "result": "successful",
        "date": "2025-01-05T00:00:00Z",
        "external_id": "rfd_1",
    }
    partial = api.post(path, json={**refund, "amount_in_cents": 5_000_000})
    assert partial.status_code == 201, partial.text
    assert (partial.json()["type"], partial.json()["amount_in_cents"]) == ("refund", 5_000_000)
    for amount, text in (
        (15_000_001, "cannot be greater than the invoice total"),
        (-1, "must be greater than 0"),
    ):
        refused = api.post(path, json={**refund, "external_id": "rfd_2", "amount_in_cents": amount})
        assert refused.status_code == 422
        assert refused.json() == {"errors": {"amount_in_cents": text}}
    whole = api.post(path, json={**refund, "external_id": "rfd_2", "amount_in_cents": 15_000_000})
    assert whole.status_code == 201
    again = api.post(path, json={**refund, "amount_in_cents": 5_000_000})
    assert again.json() == {"errors": {"external_id": "has already been taken"}}
    inline = _invoice(
        plan["uuid"],
        "inv_2",
        transactions=[{**refund, "external_id": "rfd_3", "amount_in_cents": 15_000_001}],
    )
    response = api.post(f"/v1/import/customers/{customer['uuid']}/invoices", json={"invoices": [inline]})
    assert response.status_code == 422
    assert response.json()["invoices"][0]["errors"] == {
        "transactions.amount_in_cents": "cannot be greater than the invoice total"
    }
    state = api.get("/_sandbox/state").json()
    assert [(t["external_id"], t["amount_in_cents"]) for t in state["invoices"][0]["transactions"]] == [
        ("rfd_1", 5_000_000),
        ("rfd_2", 15_000_000),
    ]


def test_cancellation_dates_replace_the_history_with_202(api: httpx.Client) -> None:
    customer, plan = _customer(api), _plan(api)
    api.post(f"/v1/import/customers/{customer['uuid']}/invoices", json={"invoices": [_invoice(plan["uuid"])]})
    subs = api.get(f"/v1/import/customers/{customer['uuid']}/subscriptions").json()
    assert subs["customer_uuid"] == customer["uuid"]
    [sub] = subs["subscriptions"]
    assert (sub["external_id"], sub["cancellation_dates"]) == ("sub_1", [])
    dates = ["2025-01-20T00:00:00Z", "2025-01-20T00:00:00Z"]
    response = api.patch(f"/v1/import/subscriptions/{sub['uuid']}", json={"cancellation_dates": dates})
    assert response.status_code == 202
    assert response.json()["cancellation_dates"] == ["2025-01-20T00:00:00.000Z"]
    assert api.get(f"/v1/customers/{customer['uuid']}").json()["status"] == "Cancelled"
    cleared = api.patch(f"/v1/import/subscriptions/{sub['uuid']}", json={"cancellation_dates": []})
    assert cleared.json()["cancellation_dates"] == []
    future = api.patch(
        f"/v1/import/subscriptions/{sub['uuid']}", json={"cancelled_at": "2999-01-01T00:00:00Z"}
    )
    assert future.status_code == 422
    assert "cancelled_at" in future.json()["errors"]


def test_invoices_are_found_by_data_source_and_external_id(api: httpx.Client) -> None:
    customer, plan = _customer(api), _plan(api)
    api.post(f"/v1/import/customers/{customer['uuid']}/invoices", json={"invoices": [_invoice(plan["uuid"])]})
    found = api.get("/v1/invoices", params={"data_source_uuid": DS, "external_id": "inv_1"}).json()[
        "invoices"
    ]
    assert [(i["external_id"], i["customer_uuid"]) for i in found] == [("inv_1", customer["uuid"])]
    assert api.get("/v1/invoices", params={"external_id": "inv_2"}).json()["invoices"] == []


# --- side door, faults, limits -----------------------------------------------------------------


def test_state_shows_the_seeded_data_source_and_reset_empties_the_rest(api: httpx.Client) -> None:
    _customer(api)
    state = api.get("/_sandbox/state").json()
    assert [ds["uuid"] for ds in state["data_sources"]] == [DS]
    assert len(state["customers"]) == 1
    assert api.post("/_sandbox/reset").status_code == 200
    state = api.get("/_sandbox/state").json()
    assert (len(state["customers"]), [ds["uuid"] for ds in state["data_sources"]]) == (0, [DS])


def test_injected_rate_limit_and_server_errors_use_chartmogul_bodies(api: httpx.Client) -> None:
    api.post(
        "/_sandbox/faults", json={"kind": "rate_limit", "path": "/v1/ping", "count": 1, "retry_after": 3}
    )
    limited = api.get("/v1/ping")
    assert limited.status_code == 429
    # ChartMogul documents no wait header: an injected 429 carries none, like the real limiter's.
    assert not {"retry-after", "x-ratelimit-reset"} & set(limited.headers)
    assert limited.json()["message"] == "Your request rate has exceeded our rate limit."
    api.post("/_sandbox/faults", json={"kind": "status", "status": 500, "path": "/v1/ping", "count": 1})
    failed = api.get("/v1/ping")
    assert failed.status_code == 500
    assert "Server Error" in failed.text
    assert api.get("/v1/ping").status_code == 200


def test_more_than_40_requests_in_a_second_get_429_without_retry_after(api: httpx.Client) -> None:
    statuses = [api.get("/v1/ping") for _ in range(50)]
    assert all(r.status_code == 200 for r in statuses[:40])
    refused = [r for r in statuses[40:] if r.status_code == 429]
    assert refused, "the 41st request within a second must be refused"
    assert refused[0].json() == {
        "code": 429,
        "message": "Your request rate has exceeded our rate limit.",
        "param": None,
    }
    assert "retry-after" not in refused[0].headers


async def test_more_than_20_parallel_connections_get_503(base_url: str) -> None:
    async with httpx.AsyncClient(
        base_url=base_url, auth=(KEY, ""), limits=httpx.Limits(max_connections=30)
    ) as api:
        # Each answer held 3 s, so all 25 are in flight together even on a busy machine (at 400 ms
        # CI saw the first three answered before the last ones had connected).
        await api.post("/_sandbox/faults", json={"kind": "latency", "latency_ms": 3000, "path": "/v1/ping"})
        responses = await asyncio.gather(*(api.get("/v1/ping") for _ in range(25)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 20 + [503] * 5
    refused = next(r for r in responses if r.status_code == 503)
    assert refused.json()["code"] == 503
