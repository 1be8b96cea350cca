"""The Xendit sandbox's API behaves like Xendit's (ref §8): auth, validation, duplicates, limits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

KEY = "xnd_development_test_key"


@pytest.fixture
def xendit(sandbox_url: Callable[..., str]) -> Iterator[httpx.Client]:
    base = sandbox_url("xendit", secret_key=KEY, rate_limit=1000)
    with httpx.Client(base_url=base, auth=(KEY, ""), timeout=5) as client:
        yield client


def _create(client: httpx.Client, **fields: Any) -> httpx.Response:
    return client.post("/v2/invoices", json={"external_id": "inv-1", "amount": 150000, **fields})


def _decimal_json(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def test_wrong_or_missing_key_is_401_invalid_api_key(xendit: httpx.Client) -> None:
    for auth in (("xnd_development_wrong", ""), None):
        response = httpx.post(f"{xendit.base_url}/v2/invoices", json={}, auth=auth)
        assert response.status_code == 401
        assert response.json()["error_code"] == "INVALID_API_KEY"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"amount": 1000}, "external_id is required"),
        ({"external_id": "inv-1"}, "amount is required"),
        ({"external_id": "inv-1", "amount": "lots"}, "amount must be a number"),
        ({"external_id": "inv-1", "amount": 1000, "metadata": {"k" * 41: "v"}}, "metadata key"),
    ],
)
def test_invalid_create_is_400_api_validation_error(
    xendit: httpx.Client, body: dict[str, Any], expected: str
) -> None:
    response = xendit.post("/v2/invoices", json=body)
    assert response.status_code == 400
    assert response.json()["error_code"] == "API_VALIDATION_ERROR"
    assert expected in response.json()["message"]


def test_created_invoice_has_documented_fields_and_keeps_metadata_and_customer(xendit: httpx.Client) -> None:
    response = _create(
        xendit,
        currency="IDR",
        invoice_duration=3600,
        metadata={"lovia_customer_id": "cus_1"},
        customer={"customer_id": "cus_1", "email": "a@example.com"},
    )
    assert response.status_code == 200
    invoice = response.json()
    assert len(invoice["id"]) == 24
    assert invoice["status"] == "PENDING"
    assert invoice["invoice_url"].endswith(invoice["id"])
    assert invoice["metadata"] == {"lovia_customer_id": "cus_1"}
    assert invoice["customer"]["customer_id"] == "cus_1"
    assert invoice["created"].endswith("Z")
    for field in ("user_id", "merchant_name", "expiry_date", "available_banks", "available_ewallets"):
        assert field in invoice
    assert response.headers["Rate-Limit-Limit"] == "1000"


def test_idr_decimals_are_truncated_other_currencies_kept(xendit: httpx.Client) -> None:
    idr = _decimal_json(xendit.post("/v2/invoices", content=b'{"external_id": "a", "amount": 4550.50}'))
    php = _decimal_json(
        xendit.post("/v2/invoices", content=b'{"external_id": "b", "amount": 1499.50, "currency": "PHP"}')
    )
    assert idr["amount"] == Decimal(4550)
    assert php["amount"] == Decimal("1499.50")


def test_duplicate_external_id_is_accepted_as_a_second_invoice(xendit: httpx.Client) -> None:
    first, second = _create(xendit).json(), _create(xendit).json()
    assert first["id"] != second["id"]
    listed = xendit.get("/v2/invoices", params={"external_id": "inv-1"}).json()
    assert {invoice["id"] for invoice in listed} == {first["id"], second["id"]}


def test_get_unknown_invoice_is_404_invoice_not_found(xendit: httpx.Client) -> None:
    response = xendit.get("/v2/invoices/0123456789abcdef01234567")
    assert response.status_code == 404
    assert response.json()["error_code"] == "INVOICE_NOT_FOUND_ERROR"


def test_list_filters_by_status_and_expire_changes_it(xendit: httpx.Client) -> None:
    invoice = _create(xendit).json()
    expired = xendit.post(f"/invoices/{invoice['id']}/expire!")
    assert expired.status_code == 200
    assert expired.json()["status"] == "EXPIRED"
    pending = xendit.get("/v2/invoices", params={"external_id": "inv-1", "statuses": "PENDING"}).json()
    gone = xendit.get("/v2/invoices", params=[("statuses", "EXPIRED"), ("statuses", "PAID")]).json()
    assert pending == []
    assert [i["id"] for i in gone] == [invoice["id"]]
    assert xendit.get("/v2/invoices", params={"external_id": "nope"}).json() == []


def test_list_filters_by_paid_created_and_expired_time_and_pages_with_last_invoice(
    xendit: httpx.Client,
) -> None:
    early, late, unpaid, expired = (_create(xendit, external_id=f"inv-{n}").json() for n in range(4))
    for invoice, paid_at in ((early, "2026-11-24T23:59:59.000Z"), (late, "2026-11-25T10:00:00.000Z")):
        paid = xendit.post(
            f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "BCA", "paid_at": paid_at}
        )
        assert paid.status_code == 200
    xendit.post(f"/invoices/{expired['id']}/expire!")
    day = {"paid_after": "2026-11-25T00:00:00.000Z", "paid_before": "2026-11-25T23:59:59.999Z"}

    in_day = xendit.get("/v2/invoices", params={**day, "statuses": "PAID"}).json()
    ever_paid = xendit.get("/v2/invoices", params={"paid_after": "2000-01-01T00:00:00Z"}).json()
    created = xendit.get("/v2/invoices", params={"created_after": early["created"]}).json()
    gone = xendit.get(
        "/v2/invoices", params={"statuses": "EXPIRED", "expired_after": "2000-01-01T00:00:00Z"}
    ).json()
    first = xendit.get("/v2/invoices", params={"created_after": early["created"], "limit": 3}).json()
    rest = xendit.get(
        "/v2/invoices",
        params={"created_after": early["created"], "limit": 3, "last_invoice": first[-1]["id"]},
    ).json()
    bad = xendit.get("/v2/invoices", params={"paid_after": "yesterday"})
    naive = xendit.get("/v2/invoices", params={"paid_after": "2026-11-25T00:00:00"})

    assert [i["id"] for i in in_day] == [late["id"]]
    assert {i["id"] for i in ever_paid} == {early["id"], late["id"]}  # unpaid ones have no paid_at
    assert [i["id"] for i in created] == [expired["id"], unpaid["id"], late["id"], early["id"]]
    assert [i["id"] for i in gone] == [expired["id"]]
    assert [i["id"] for i in first + rest] == [i["id"] for i in created]
    assert (bad.status_code, bad.json()["error_code"]) == (400, "API_VALIDATION_ERROR")
    assert "paid_after" in bad.json()["message"]
    assert naive.status_code == 400


def test_rate_limit_answers_429_with_rate_limit_headers(sandbox_url: Callable[..., str]) -> None:
    base = sandbox_url("xendit", secret_key=KEY, rate_limit=2, rate_limit_window_seconds=30)
    with httpx.Client(base_url=base, auth=(KEY, "")) as client:
        statuses = [client.get("/v2/invoices").status_code for _ in range(3)]
        limited = client.get("/v2/invoices")
        other_endpoint = client.get("/v2/invoices/0123456789abcdef01234567")
    assert statuses == [200, 200, 429]
    assert limited.json()["error_code"] == "RATE_LIMIT_EXCEEDED"
    assert limited.headers["Rate-Limit-Remaining"] == "0"
    assert 0 < float(limited.headers["Rate-Limit-Reset"]) <= 30
    assert other_endpoint.status_code == 404  # the budget is per endpoint


def test_injected_429_carries_xendits_rate_limit_headers_and_no_retry_after(xendit: httpx.Client) -> None:
    xendit.post(
        "/_sandbox/faults", json={"kind": "rate_limit", "path": "/v2/invoices", "count": 1, "retry_after": 9}
    )
    limited = _create(xendit)
    assert limited.status_code == 429
    assert limited.json()["error_code"] == "RATE_LIMIT_EXCEEDED"
    assert (limited.headers["Rate-Limit-Remaining"], limited.headers["Rate-Limit-Reset"]) == ("0", "9.00")
    assert "Retry-After" not in limited.headers


def test_injected_faults_answer_xendits_server_error_body(xendit: httpx.Client) -> None:
    xendit.post(
        "/_sandbox/faults", json={"kind": "status", "status": 503, "path": "/v2/invoices", "count": 1}
    )
    failed = _create(xendit)
    assert failed.status_code == 503
    assert failed.json()["error_code"] == "SERVER_ERROR"
    assert _create(xendit).status_code == 200


def test_state_and_reset(xendit: httpx.Client) -> None:
    _create(xendit)
    state = xendit.get("/_sandbox/state").json()
    assert len(state["invoices"]) == 1
    assert "secret_key" not in state["config"]
    xendit.post("/_sandbox/reset")
    assert xendit.get("/_sandbox/state").json()["invoices"] == []


def test_paying_sets_channel_fields_and_refuses_an_expired_invoice_unless_asked(xendit: httpx.Client) -> None:
    invoice = _create(xendit).json()
    xendit.post(f"/_sandbox/invoices/{invoice['id']}/expire")
    refused = xendit.post(f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "OVO"})
    paid = xendit.post(
        f"/_sandbox/invoices/{invoice['id']}/pay", json={"channel": "OVO", "after_expiry": True}
    )
    assert refused.status_code == 400
    assert paid.status_code == 200
    stored = xendit.get(f"/v2/invoices/{invoice['id']}").json()
    assert stored["status"] == "PAID"
    assert stored["payment_method"] == "EWALLET"
    assert stored["payment_id"].startswith("ewc_")
    assert stored["paid_amount"] == 150000
