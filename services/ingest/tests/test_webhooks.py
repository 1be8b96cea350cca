"""Xendit webhooks: token, validation, deduplication, routing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from billing_testing.queues import QueueReader as Queues
from billing_testing.samples import (
    FVA_PAID_CALLBACK,
    INVOICE_PAID_CALLBACK,
    INVOICE_REQUEST,
    RECURRING_CYCLE_CALLBACK,
)
from lovia_billing import parse_event

PAID = INVOICE_PAID_CALLBACK
TOKEN = "test-callback-token"
OLD_TOKEN = "test-callback-token-old"


def callback(
    client: httpx.Client, body: Any, token: str | None = TOKEN, path: str = "invoice"
) -> httpx.Response:
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["x-callback-token"] = token
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(f"/webhooks/xendit/{path}", content=content, headers=headers)


def test_same_callback_twice_gives_one_message_and_the_same_event_id(
    client: httpx.Client, queues: Queues
) -> None:
    first = callback(client, PAID)
    second = callback(client, PAID)
    assert first.status_code == 200, first.text
    assert second.json()["event_id"] == first.json()["event_id"]
    messages = queues.peek("xendit")
    assert len(messages) == 1
    event = parse_event(messages[0]["Body"])
    assert event.event_type.value == "xendit.invoice.paid"
    assert str(getattr(event, "amount")) == "150000"  # noqa: B009
    assert queues.total() == 1


def test_callback_group_is_the_customer_of_the_requested_invoice(
    client: httpx.Client, api: httpx.Client, queues: Queues
) -> None:
    assert api.post("/v1/invoices", json=INVOICE_REQUEST).status_code == 202
    assert callback(client, {**PAID, "external_id": INVOICE_REQUEST["invoice_id"]}).status_code == 200
    groups = {m["Attributes"]["MessageGroupId"] for m in queues.peek("xendit")}
    assert groups == {INVOICE_REQUEST["customer_id"]}


def test_decimal_amounts_stay_exact(client: httpx.Client, queues: Queues) -> None:
    body = json.dumps({**PAID, "currency": "PHP"}).replace('"amount": 150000', '"amount": 1499.5')
    assert callback(client, body).status_code == 200
    event = parse_event(queues.peek("xendit")[0]["Body"])
    assert str(getattr(event, "amount")) == "1499.5"  # noqa: B009


def test_rotated_token_is_accepted(client: httpx.Client) -> None:
    assert callback(client, PAID, token=OLD_TOKEN).status_code == 200


@pytest.mark.parametrize("token", [None, "", "wrong-token", TOKEN + "x"])
def test_missing_or_wrong_token_is_401_and_nothing_is_queued(
    client: httpx.Client, queues: Queues, token: str | None
) -> None:
    response = callback(client, PAID, token=token)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert queues.total() == 0


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{not json", 400, "malformed JSON"),
        ({**PAID, "status": "REFUNDED"}, 422, "status"),
        ({k: v for k, v in PAID.items() if k != "external_id"}, 422, "external_id"),
        ({**PAID, "amount": "lots"}, 422, "amount"),
        ({**PAID, "amount": -5}, 422, "negative"),
        ({**PAID, "currency": "EUR"}, 422, "EUR"),
        ([], 422, ""),
    ],
)
def test_bad_callbacks_are_4xx_json_and_nothing_is_queued(
    client: httpx.Client, queues: Queues, body: Any, status: int, needle: str
) -> None:
    response = callback(client, body)
    assert response.status_code == status, response.text
    assert needle in response.text
    assert response.json()["error"]["status"] == status
    assert queues.total() == 0


def test_wrong_content_type_is_415(client: httpx.Client, queues: Queues) -> None:
    response = client.post(
        "/webhooks/xendit/invoice",
        content=json.dumps(PAID),
        headers={"x-callback-token": TOKEN, "content-type": "text/plain"},
    )
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]["message"]
    assert queues.total() == 0


def test_oversized_body_is_413(client: httpx.Client, queues: Queues) -> None:
    response = callback(client, {**PAID, "description": "x" * 20_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert queues.total() == 0


RECURRING = RECURRING_CYCLE_CALLBACK


def test_envelope_callbacks_ignore_delivery_time_in_their_key(client: httpx.Client, queues: Queues) -> None:
    first = callback(client, RECURRING, path="recurring")
    redelivered = callback(client, {**RECURRING, "created": "2026-11-25T09:00:00Z"}, path="recurring")
    assert first.status_code == 200, first.text
    assert redelivered.json()["event_id"] == first.json()["event_id"]
    messages = queues.peek("xendit")
    assert [m["Attributes"]["MessageGroupId"] for m in messages] == ["cus_0001"]


def test_fva_and_payment_callbacks_are_queued(client: httpx.Client, queues: Queues) -> None:
    fva = FVA_PAID_CALLBACK
    payment = {**RECURRING, "event": "payment.succeeded", "data": {"id": "py-1", "status": "SUCCEEDED"}}
    assert callback(client, fva, path="fva").status_code == 200
    assert callback(client, payment, path="payment").status_code == 200
    events = [parse_event(m["Body"]) for m in queues.peek("xendit")]
    assert sorted(getattr(e, "product", "") for e in events) == ["fva", "payment_request"]


def test_tokens_and_keys_never_reach_the_logs(client: httpx.Client, api: httpx.Client) -> None:
    import io
    import logging

    ingest_logger = logging.getLogger("ingest")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ingest_logger.handlers[0].formatter)  # Powertools' JSON formatter
    ingest_logger.addHandler(handler)
    try:
        callback(client, PAID)
        callback(client, PAID, token="a-wrong-token-value")
        api.put("/v1/customers/cus_9", json={"email": "a@b.co", "name": "A"})
    finally:
        ingest_logger.removeHandler(handler)
    logged = stream.getvalue()
    assert '"message":"callback queued"' in logged  # the ingest does log, as JSON
    for secret in (TOKEN, "a-wrong-token-value", "test-api-key"):
        assert secret not in logged


def _envelope(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {**RECURRING, "event": event, "data": {"status": "SUCCEEDED", **data}}


@pytest.mark.parametrize(
    ("event", "data", "product"),
    [
        ("payment.succeeded", {"id": "py-7", "payment_request_id": "pr-7"}, "payment_request"),
        ("recurring.cycle.succeeded", {"id": "recy-7", "plan_id": "repl-7"}, "recurring"),
        ("ewallet.capture", {"id": "ewc_7"}, "ewallet"),
        ("refund.succeeded", {"id": "rfd-7", "invoice_id": "inv-x"}, "refund"),
    ],
)
def test_a_money_event_is_sorted_by_its_name_whatever_route_it_came_on(
    client: httpx.Client, queues: Queues, event: str, data: dict[str, Any], product: str
) -> None:
    """Xendit lets one URL take several webhook types: the route must not decide the product."""
    body = _envelope(event, data)
    routes = ("payment", "recurring", "refund")
    ids = {callback(client, body, path=route).json()["event_id"] for route in routes}
    assert len(ids) == 1  # one callback, one event, whichever route it came on
    events = [parse_event(m["Body"]) for m in queues.peek("xendit")]
    assert [(getattr(e, "product"), getattr(e, "object_id")) for e in events] == [(product, data["id"])]  # noqa: B009


@pytest.mark.parametrize(
    ("route", "event", "status"),
    [
        ("recurring", "recurring.plan.activated", "ACTIVE"),
        ("recurring", "recurring.cycle.created", "PENDING"),
        ("recurring", "recurring.cycle.failed", "FAILED"),
        ("payment", "payment.failed", "FAILED"),
        ("refund", "refund.failed", "FAILED"),
        ("ewallet", "ewallet.capture", "PENDING"),
        ("ewallet", "ewallet.capture", "FAILED"),
        ("payment_method", "payment_method.activated", "ACTIVE"),
        ("payment", "some.future.event", "WHATEVER"),
    ],
)
def test_events_that_move_no_money_are_answered_200_and_queue_nothing(
    client: httpx.Client, queues: Queues, route: str, event: str, status: str
) -> None:
    response = callback(client, _envelope(event, {"id": "obj-1", "status": status}), path=route)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ignored"
    assert response.json()["event_id"]
    assert queues.total() == 0


def test_a_refund_route_refuses_a_body_that_is_no_envelope(client: httpx.Client, queues: Queues) -> None:
    response = callback(client, {"id": "rfd-1", "amount": 5}, path="refund")
    assert response.status_code == 422
    assert queues.total() == 0


def test_an_fva_callback_with_empty_ids_is_422_and_queues_nothing(
    client: httpx.Client, queues: Queues
) -> None:
    """Found by the OpenAPI fuzzing: an empty external_id reached the ledger look-up and answered 500."""
    response = callback(client, {**FVA_PAID_CALLBACK, "external_id": "", "owner_id": ""}, path="fva")
    assert response.status_code == 422, response.text
    fields = {d["field"] for d in response.json()["error"]["details"]}
    assert {"body.external_id", "body.owner_id"} <= fields
    assert queues.total() == 0
