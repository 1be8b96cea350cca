"""The GraphQL mutations are the /v1 writes: same event ids, same Idempotency-Key, same errors.

Every case sends the same request through both doors of the served ingest and compares the answers.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import httpx
import pytest

from billing_testing.queues import QueueReader
from billing_testing.samples import CUSTOMER, INVOICE_REQUEST
from ingest import writes
from ingest.idempotency_keys import IdempotencyKeys, Reserved
from ingest.models.api import CustomerUpsert
from lovia_billing import Topology, derive_event_id, parse_event
from lovia_billing.aws import open_aws_clients

CANCEL = {"customer_id": "cus_0001", "cancelled_at": "2026-12-31T23:59:59Z", "reason": "downgrade"}

UPSERT = """mutation($id: String!, $input: CustomerInput!, $key: String) {
  upsertCustomer(customerId: $id, customer: $input, idempotencyKey: $key) { eventId statusUrl } }"""
CREATE = """mutation($input: InvoiceInput!, $key: String) {
  createInvoice(invoice: $input, idempotencyKey: $key) { eventId statusUrl } }"""
CANCEL_MUTATION = """mutation($id: String!, $input: CancellationInput!, $key: String) {
  cancelSubscription(subscriptionId: $id, cancellation: $input, idempotencyKey: $key) {
    eventId statusUrl } }"""


def camel(value: Any) -> Any:
    """A REST body as GraphQL input variables (``payer_email`` → ``payerEmail``)."""
    if isinstance(value, dict):
        return {re.sub(r"_([a-z])", lambda m: m.group(1).upper(), k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


class Doors:
    """One write through REST and through GraphQL, answers in REST's shape for comparison."""

    def __init__(self, api: httpx.Client) -> None:
        self.api = api

    def rest(
        self, write: str, body: Any, key: str | None = None, target: str = ""
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Idempotency-Key": key} if key is not None else {}
        if write == "customer":
            response = self.api.put(f"/v1/customers/{target}", json=body, headers=headers)
        elif write == "invoice":
            response = self.api.post("/v1/invoices", json=body, headers=headers)
        else:
            response = self.api.post(f"/v1/subscriptions/{target}/cancel", json=body, headers=headers)
        return response.status_code, response.json()

    def graphql(
        self, write: str, body: Any, key: str | None = None, target: str = ""
    ) -> tuple[int, dict[str, Any]]:
        query, field = {
            "customer": (UPSERT, "upsertCustomer"),
            "invoice": (CREATE, "createInvoice"),
            "cancel": (CANCEL_MUTATION, "cancelSubscription"),
        }[write]
        variables = {"input": camel(body), "key": key, "id": target}
        response = self.api.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code == 200, response.text
        result = response.json()
        if result.get("errors"):
            [error] = result["errors"]
            ext = error["extensions"]
            assert result["data"] == {field: None}
            return ext["status"], {
                "error": {
                    "status": ext["status"],
                    "code": ext["code"],
                    "message": error["message"],
                    "details": ext.get("details", []),
                },
                **({"retry_after": ext["retryAfter"]} if "retryAfter" in ext else {}),
            }
        answer = result["data"][field]
        return 202, {"event_id": answer["eventId"], "status_url": answer["statusUrl"]}


@pytest.fixture
def doors(api: httpx.Client) -> Doors:
    return Doors(api)


def test_the_same_request_through_either_door_is_the_same_event(doors: Doors, queues: QueueReader) -> None:
    rest = doors.rest("invoice", INVOICE_REQUEST)
    graphql = doors.graphql("invoice", INVOICE_REQUEST)
    assert rest == graphql
    assert graphql[1]["event_id"] == derive_event_id("invoice.requested", INVOICE_REQUEST["invoice_id"])
    assert graphql[1]["status_url"] == f"/v1/events/{graphql[1]['event_id']}"
    assert doors.graphql("cancel", CANCEL, target="sub_1") == doors.rest("cancel", CANCEL, target="sub_1")
    # A cancellation happens once: a later one, by either door, answers the first.
    later = {**CANCEL, "cancelled_at": "2027-01-02T00:00:00Z"}
    assert doors.graphql("cancel", later, target="sub_1") == doors.rest("cancel", CANCEL, target="sub_1")
    assert [queues.count(i) for i in ("xendit", "erpnext", "chartmogul", "mautic")] == [2, 0, 0, 0]


def test_without_a_key_each_customer_upsert_is_its_own_event_by_either_door(doors: Doors) -> None:
    ids = {
        doors.rest("customer", CUSTOMER, target="cus_1")[1]["event_id"],
        doors.graphql("customer", CUSTOMER, target="cus_1")[1]["event_id"],
        doors.graphql("customer", CUSTOMER, target="cus_1")[1]["event_id"],
    }
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("write", "body", "target"),
    [("customer", CUSTOMER, "cus_7"), ("invoice", INVOICE_REQUEST, ""), ("cancel", CANCEL, "sub_7")],
)
def test_an_idempotency_key_is_shared_by_both_doors(
    doors: Doors, queues: QueueReader, write: str, body: dict[str, Any], target: str
) -> None:
    first = doors.graphql(write, body, key="k-shared", target=target)
    assert first[0] == 202
    assert doors.rest(write, body, key="k-shared", target=target) == first
    assert doors.graphql(write, body, key="k-shared", target=target) == first
    changed = (
        {**body, "customer_id": "cus_other"} if write != "customer" else {**body, "name": "Someone Else"}
    )
    refused_rest = doors.rest(write, changed, key="k-shared", target=target)
    refused_graphql = doors.graphql(write, changed, key="k-shared", target=target)
    assert refused_graphql == refused_rest
    assert refused_rest[0] == 422
    assert refused_rest[1]["error"]["message"] == "Idempotency-Key was already used with a different request"
    assert queues.total() == (3 if write == "customer" else 1)


def _invoice(**changes: Any) -> dict[str, Any]:
    return {**INVOICE_REQUEST, **changes}


def _line(**changes: Any) -> list[dict[str, Any]]:
    return [{**INVOICE_REQUEST["lines"][0], **changes}]


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("customer", {**CUSTOMER, "name": ""}, "cus_1"),
    ("customer", {**CUSTOMER, "country": "IDN", "phone": "9" * 41}, "cus_1"),
    ("customer", {**CUSTOMER, "email": "not-an-email"}, "cus_1"),  # refused by the event
    ("customer", CUSTOMER, "bad id with spaces"),  # the path's id, refused by the event
    ("invoice", _invoice(invoice_id="inv 1"), ""),
    ("invoice", _invoice(amount="1.5", lines=_line(unit_amount="1.5")), ""),
    ("invoice", _invoice(amount=1.5), ""),  # a JSON float
    ("invoice", _invoice(amount="1e5"), ""),
    ("invoice", _invoice(amount="100"), ""),  # not the sum of the lines
    ("invoice", _invoice(lines=_line(quantity=0)), ""),
    ("invoice", _invoice(period={"start": "2026-12-31", "end": "2026-12-01"}), ""),
    ("invoice", _invoice(currency="XXX"), ""),
    ("invoice", _invoice(payer_email="bad"), ""),
    ("invoice", _invoice(lines=[]), ""),
    ("cancel", {**CANCEL, "cancelled_at": "2026-12-31T23:59:59"}, "sub_1"),  # no time zone
    ("cancel", {**CANCEL, "customer_id": "bad id"}, "sub_1"),
    ("cancel", {**CANCEL, "reason": "x" * 501}, "sub_1"),
]


@pytest.mark.parametrize(("write", "body", "target"), REFUSED)
def test_a_refused_request_is_refused_alike_by_both_doors(
    doors: Doors, queues: QueueReader, write: str, body: dict[str, Any], target: str
) -> None:
    rest = doors.rest(write, body, target=target)
    graphql = doors.graphql(write, body, target=target)
    assert rest[0] == 422, rest
    assert graphql == rest
    assert rest[1]["error"]["details"], rest
    assert queues.total() == 0


def test_a_conflict_and_a_bad_key_are_the_same_errors(doors: Doors, queues: QueueReader) -> None:
    doors.rest("invoice", INVOICE_REQUEST)
    changed = _invoice(description="changed")
    conflict = doors.graphql("invoice", changed)
    assert conflict == doors.rest("invoice", changed)
    assert conflict[1]["error"]["code"] == "conflict"
    long_key = "k" * 256
    bad_key = doors.graphql("customer", CUSTOMER, key=long_key, target="cus_1")
    assert bad_key == doors.rest("customer", CUSTOMER, key=long_key, target="cus_1")
    assert bad_key[1]["error"]["code"] == "bad_request"
    assert queues.count("xendit") == 1


def test_a_request_in_progress_under_its_key_is_told_to_retry_by_both_doors(
    doors: Doors, api: httpx.Client, topology: Topology, queues: QueueReader
) -> None:
    write = writes.upsert_customer("cus_9", CustomerUpsert.model_validate(CUSTOMER), "k-busy")

    async def reserve() -> None:
        async with open_aws_clients("ap-southeast-1") as aws:
            keys = IdempotencyKeys(aws.dynamodb, topology.idempotency_table)
            assert isinstance(await keys.reserve("k-busy", writes.fingerprint(write)), Reserved)

    asyncio.run(reserve())
    graphql = doors.graphql("customer", CUSTOMER, key="k-busy", target="cus_9")
    assert graphql[0] == 409
    assert graphql[1]["error"]["code"] == "request_in_progress"
    assert graphql[1]["retry_after"] == 1
    response = api.put("/v1/customers/cus_9", json=CUSTOMER, headers={"Idempotency-Key": "k-busy"})
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"
    assert {**graphql[1]["error"]} == response.json()["error"]
    assert queues.total() == 0


def test_a_mutation_queues_its_event_with_the_request_id_and_shows_where_it_is(
    api: httpx.Client, queues: QueueReader
) -> None:
    query = """mutation($input: InvoiceInput!) { createInvoice(invoice: $input) {
      eventId event { type correlationId integrations { integration status } } } }"""
    response = api.post(
        "/graphql",
        json={"query": query, "variables": {"input": camel(INVOICE_REQUEST)}},
        headers={"x-request-id": "req-graphql-1"},
    )
    answer = response.json()["data"]["createInvoice"]
    assert answer["event"] == {
        "type": "invoice.requested",
        "correlationId": "req-graphql-1",
        "integrations": [{"integration": "XENDIT", "status": "QUEUED"}],
    }
    [message] = queues.peek("xendit")
    assert parse_event(message["Body"]).event_id == answer["eventId"]
    assert message["MessageAttributes"]["correlation_id"]["StringValue"] == "req-graphql-1"
    assert json.loads(message["Body"])["amount"] == "150000"
