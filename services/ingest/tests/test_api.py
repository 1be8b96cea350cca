"""The internal /v1 API: auth, validation, Idempotency-Key, routing, event status, OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import CUSTOMER, INVOICE_REQUEST
from lovia_billing import parse_event


def test_customer_upsert_lands_once_in_each_of_three_queues_grouped_by_customer(
    api: httpx.Client, queues: QueueReader
) -> None:
    response = api.put("/v1/customers/cus_0001", json=CUSTOMER)
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status_url"] == f"/v1/events/{body['event_id']}"
    for integration in ("erpnext", "chartmogul", "mautic"):
        messages = queues.peek(integration)
        assert len(messages) == 1, integration
        assert messages[0]["Attributes"]["MessageGroupId"] == "cus_0001"
        assert parse_event(messages[0]["Body"]).event_id == body["event_id"]
    assert queues.count("xendit") == 0


def test_event_status_shows_each_routed_integration(api: httpx.Client) -> None:
    event_id = api.post("/v1/invoices", json=INVOICE_REQUEST).json()["event_id"]
    status = api.get(f"/v1/events/{event_id}")
    assert status.status_code == 200
    body = status.json()
    assert body["event_type"] == "invoice.requested"
    assert body["integrations"] == {
        "xendit": {"status": "queued", "attempts": 0, "last_error": None, "updated_at": None}
    }
    assert body["event"]["amount"] == "150000"
    assert api.get("/v1/events/nope").status_code == 404


def test_idempotency_key_same_body_same_answer_other_body_422(api: httpx.Client, queues: QueueReader) -> None:
    headers = {"Idempotency-Key": "k-123"}
    first = api.put("/v1/customers/cus_7", json=CUSTOMER, headers=headers)
    again = api.put("/v1/customers/cus_7", json=CUSTOMER, headers=headers)
    other = api.put("/v1/customers/cus_7", json={**CUSTOMER, "name": "Someone Else"}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["error"]["message"]
    assert queues.count("mautic") == 1


def test_without_a_key_each_customer_upsert_is_its_own_event(api: httpx.Client) -> None:
    one = api.put("/v1/customers/cus_8", json=CUSTOMER).json()["event_id"]
    two = api.put("/v1/customers/cus_8", json=CUSTOMER).json()["event_id"]
    assert one != two


def test_same_invoice_id_same_body_is_the_same_event_other_body_is_409(
    api: httpx.Client, queues: QueueReader
) -> None:
    first = api.post("/v1/invoices", json=INVOICE_REQUEST)
    again = api.post("/v1/invoices", json=INVOICE_REQUEST)
    changed = api.post("/v1/invoices", json={**INVOICE_REQUEST, "description": "changed"})
    assert again.json()["event_id"] == first.json()["event_id"]
    assert changed.status_code == 409
    assert queues.count("xendit") == 1


def test_cancel_twice_is_one_cancellation(api: httpx.Client, queues: QueueReader) -> None:
    body = {"customer_id": "cus_0001", "cancelled_at": "2026-12-31T23:59:59Z"}
    first = api.post("/v1/subscriptions/sub_1/cancel", json=body)
    later = api.post("/v1/subscriptions/sub_1/cancel", json={**body, "cancelled_at": "2027-01-02T00:00:00Z"})
    assert first.status_code == later.status_code == 202
    assert later.json()["event_id"] == first.json()["event_id"]
    # Only to xendit_sync, which passes it on to the books once it has expired the open invoices.
    assert [queues.count(i) for i in ("xendit", "chartmogul", "mautic", "erpnext")] == [1, 0, 0, 0]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer wrong", "Basic dGVzdC1hcGkta2V5Og==", "test-api-key"]
)
def test_unauthenticated_is_401_and_nothing_queued(
    ingest_url: str, queues: QueueReader, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.put(f"{ingest_url}/v1/customers/cus_1", json=CUSTOMER, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert queues.total() == 0


def test_rotated_api_key_is_accepted(ingest_url: str) -> None:
    response = httpx.put(
        f"{ingest_url}/v1/customers/cus_1",
        json=CUSTOMER,
        headers={"Authorization": "Bearer test-api-key-old"},
    )
    assert response.status_code == 202


def _invoice(**changes: Any) -> dict[str, Any]:
    return {**INVOICE_REQUEST, **changes}


@pytest.mark.parametrize(
    ("path", "body", "needle"),
    [
        ("/v1/invoices", _invoice(amount=150000.0), "float"),
        ("/v1/invoices", _invoice(amount="-1"), "negative"),
        ("/v1/invoices", _invoice(amount="150000.50"), "decimal places"),
        ("/v1/invoices", _invoice(amount="99"), "sum of the lines"),
        ("/v1/invoices", _invoice(currency="EUR"), "currency"),
        ("/v1/invoices", _invoice(lines=[]), "lines"),
        ("/v1/invoices", _invoice(payer_email="not-an-email"), "e-mail"),
        ("/v1/invoices", {k: v for k, v in INVOICE_REQUEST.items() if k != "invoice_id"}, "invoice_id"),
        ("/v1/invoices", _invoice(lines="one"), "lines"),
        ("/v1/invoices", _invoice(unexpected=1), "unexpected"),
        ("/v1/customers/cus_1", {**CUSTOMER, "email": 42}, "email"),
        ("/v1/customers/bad%20id", CUSTOMER, "customer_id"),
        ("/v1/subscriptions/sub_1/cancel", {"customer_id": "cus_1"}, "cancelled_at"),
    ],
)
def test_invalid_bodies_are_422_naming_the_problem_and_nothing_queued(
    api: httpx.Client, queues: QueueReader, path: str, body: Any, needle: str
) -> None:
    method = api.put if path.startswith("/v1/customers") else api.post
    response = method(path, json=body)
    assert response.status_code == 422, response.text
    assert needle in response.text
    assert queues.total() == 0


def test_malformed_json_and_wrong_content_type(api: httpx.Client, queues: QueueReader) -> None:
    malformed = api.post(
        "/v1/invoices", content=b'{"invoice_id": ', headers={"content-type": "application/json"}
    )
    form = api.post(
        "/v1/invoices", content=b"invoice_id=1", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert malformed.status_code == 400
    assert "malformed JSON" in malformed.json()["error"]["message"]
    assert form.status_code == 415
    assert queues.total() == 0


def test_health_and_openapi(client: httpx.Client) -> None:
    assert client.get("/").status_code == 200
    assert client.get("/health/ready").json()["status"] == "ready"
    schema = client.get("/schema/openapi.json").json()
    for path in (
        "/v1/invoices",
        "/v1/customers/{customer_id}",
        "/webhooks/xendit/invoice",
        "/v1/events/{event_id}",
    ):
        assert path in schema["paths"], path
    assert "InvoiceCreate" in str(schema["components"]["schemas"])


def test_not_ready_when_queues_are_missing(serve_asgi: Any, aws_endpoint: str) -> None:
    from ingest.app import create_app
    from lovia_billing import IngestSettings

    url = serve_asgi(create_app(IngestSettings(billing_stage="nothinghere")))
    assert httpx.get(f"{url}/").status_code == 200
    ready = httpx.get(f"{url}/health/ready")
    assert ready.status_code == 503
    assert "unreachable or missing" in ready.json()["error"]["message"]
    assert len(ready.json()["error"]["details"]) == 6  # four queues and two tables
