"""GraphQL over HTTP on the served ingest (moto over HTTP behind it): queries, limits, auth, the IDE."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest

from billing_testing.factories import customer
from billing_testing.ledger import record
from billing_testing.queues import QueueReader
from ingest.app import create_app
from lovia_billing import IngestSettings, Topology
from lovia_billing.topology import Integration

E, C, M, X = Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC, Integration.XENDIT

EVENT_FIELDS = "id type customerId invoiceId xenditIds correlationId createdAt routedTo body"
STATES = "integrations { integration status attempts lastError updatedAt }"


def gql(http: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def data(http: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    body = gql(http, query, **variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body["errors"]]


CANCEL = """mutation { cancelSubscription(subscriptionId: "s",
  cancellation: {customerId: "c", cancelledAt: "2026-01-01T00:00:00Z"}) { eventId } }"""


def test_without_a_key_every_query_and_mutation_is_401_as_on_v1(
    client: httpx.Client, queues: QueueReader
) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        for query in ("{ __typename }", CANCEL):
            response = client.post("/graphql", json={"query": query}, headers=headers)
            assert response.status_code == 401
            assert response.json()["error"] == client.get("/v1/events/x", headers=headers).json()["error"]
    assert client.get("/graphql", params={"query": "{ __typename }"}).status_code == 401
    assert queues.total() == 0


def test_both_keys_of_a_rotation_are_accepted(client: httpx.Client, tokens: dict[str, str]) -> None:
    for key in (tokens["api"], tokens["api_old"]):
        headers = {"Authorization": f"Bearer {key}"}
        response = client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        assert response.json() == {"data": {"__typename": "Query"}}


def test_event_by_id_shows_each_integration_and_unknown_is_null(
    api: httpx.Client, paid_and_dead: dict[str, Any]
) -> None:
    issued = paid_and_dead["dead"][1]
    query = f"query($id: ID!) {{ event(id: $id) {{ {EVENT_FIELDS} {STATES} }} }}"
    event = data(api, query, id=issued.event_id)["event"]
    assert (event["id"], event["type"], event["customerId"]) == (issued.event_id, "invoice.issued", "cus_1")
    assert (event["invoiceId"], event["xenditIds"], event["correlationId"]) == (
        "inv_dead",
        ["xinv_dead"],
        "req-dead",
    )
    assert event["routedTo"] == ["ERPNEXT", "CHARTMOGUL", "MAUTIC"]
    states = {s["integration"]: s for s in event["integrations"]}
    assert states["ERPNEXT"]["status"] == "DEAD"
    assert states["ERPNEXT"]["lastError"] == "PermanentError: ERPNext 417 Customer cus_1 not found"
    assert states["ERPNEXT"]["attempts"] == 5
    assert states["MAUTIC"]["status"] == "DONE"
    assert states["MAUTIC"]["lastError"] is None
    assert json.loads(event["body"])["amount"] == "150000"
    assert data(api, query, id="nope")["event"] is None


def test_events_by_each_key_newest_first(api: httpx.Client, paid_and_dead: dict[str, Any]) -> None:
    paid, dead = paid_and_dead["paid"], paid_and_dead["dead"]
    query = """query($c: String, $i: String, $x: String, $r: String, $s: IntegrationStatus, $n: Integration) {
      events(customerId: $c, invoiceId: $i, xenditId: $x, correlationId: $r, status: $s, integration: $n) {
        nodes { id } pageInfo { hasNextPage endCursor } } }"""

    def ids(**variables: Any) -> list[str]:
        return [n["id"] for n in data(api, query, **variables)["events"]["nodes"]]

    newest = [e.event_id for e in reversed([*paid, *dead])]
    assert ids(c="cus_1") == newest
    assert ids(i="inv_paid") == [e.event_id for e in reversed(paid)]
    assert ids(x="py-paid") == [paid[3].event_id, paid[2].event_id]  # payment and its callback
    assert ids(x="xinv_dead") == [dead[1].event_id]
    assert ids(r="req-dead") == [e.event_id for e in reversed(dead)]
    assert ids(s="DEAD") == [dead[1].event_id]
    assert ids(s="RETRYING", n="CHARTMOGUL") == [dead[1].event_id]
    assert ids(s="DEAD", n="MAUTIC") == []
    assert ids(c="cus_1", n="XENDIT") == [dead[0].event_id, paid[2].event_id, paid[0].event_id]
    assert ids(c="somebody-else") == []


def test_since_filters_and_must_have_a_time_zone(api: httpx.Client, paid_and_dead: dict[str, Any]) -> None:
    query = 'query($s: DateTime) { events(customerId: "cus_1", since: $s) { nodes { id } } }'
    assert data(api, query, s="2999-01-01T00:00:00Z")["events"]["nodes"] == []
    assert len(data(api, query, s="2000-01-01T00:00:00+07:00")["events"]["nodes"]) == 6
    naive = gql(api, query, s="2000-01-01T00:00:00")
    assert codes(naive) == ["bad_request"]
    assert "time zone" in naive["errors"][0]["message"]


def test_pagination_through_500_events_never_repeats_or_skips(api: httpx.Client, topology: Topology) -> None:
    events = [customer("cus_many", request_key=f"k{n:03d}") for n in range(500)]
    record(topology, events)
    query = """query($after: String) { events(customerId: "cus_many", first: 64, after: $after) {
      edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"""
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = data(api, query, after=after)["events"]
        edges = page["edges"]
        seen += [edge["node"]["id"] for edge in edges]
        pages += 1
        assert page["pageInfo"]["endCursor"] == edges[-1]["cursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 8  # 7 pages of 64 and one of 52
    assert seen == [e.event_id for e in reversed(events)]
    # A cursor taken from the middle starts right after its own event.
    middle = data(api, query, after=None)["events"]["edges"][9]["cursor"]
    assert data(api, query, after=middle)["events"]["edges"][0]["node"]["id"] == events[-11].event_id


def test_page_size_and_cursor_are_checked(api: httpx.Client) -> None:
    for query in (
        '{ events(customerId: "c", first: 0) { nodes { id } } }',
        '{ events(customerId: "c", first: 101) { nodes { id } } }',
        '{ events(customerId: "c", after: "not-a-cursor") { nodes { id } } }',
        '{ customer(id: "c") { events(first: 500) { nodes { id } } } }',
    ):
        assert codes(gql(api, query)) == ["bad_request"], query


def test_customer_and_invoice_timelines_say_where_each_integration_stands(
    api: httpx.Client, paid_and_dead: dict[str, Any]
) -> None:
    query = """query($id: String!) {
      invoice(id: $id) { subject id integrations { integration status events lastError lastErrorEventId
        counts { status events } }
        events { nodes { id type integrations { integration status } } } } }"""
    paid = data(api, query, id="inv_paid")["invoice"]
    assert paid["subject"] == "invoice"
    assert [n["type"] for n in paid["events"]["nodes"]] == [
        "payment.succeeded",
        "xendit.invoice.paid",
        "invoice.issued",
        "invoice.requested",
    ]
    assert {s["integration"]: s["status"] for s in paid["integrations"]} == dict.fromkeys(
        ["XENDIT", "ERPNEXT", "CHARTMOGUL", "MAUTIC"], "DONE"
    )
    dead = data(api, query, id="inv_dead")["invoice"]
    summary = {s["integration"]: s for s in dead["integrations"]}
    issued = paid_and_dead["dead"][1].event_id
    assert summary["ERPNEXT"]["status"] == "DEAD"
    assert summary["ERPNEXT"]["lastError"] == "PermanentError: ERPNext 417 Customer cus_1 not found"
    assert summary["ERPNEXT"]["lastErrorEventId"] == issued
    assert summary["CHARTMOGUL"]["status"] == "RETRYING"
    assert summary["XENDIT"] == {
        "integration": "XENDIT",
        "status": "DONE",
        "events": 1,
        "lastError": None,
        "lastErrorEventId": None,
        "counts": [{"status": "DONE", "events": 1}],
    }
    customer_query = """{ customer(id: "cus_1") { subject integrations { integration status }
      events(integration: ERPNEXT, status: DEAD) { nodes { id } } } }"""
    timeline = data(api, customer_query)["customer"]
    assert timeline["subject"] == "customer"
    assert {s["integration"]: s["status"] for s in timeline["integrations"]}["ERPNEXT"] == "DEAD"
    assert [n["id"] for n in timeline["events"]["nodes"]] == [issued]
    empty = data(api, '{ invoice(id: "none") { integrations { status } events { nodes { id } } } }')
    assert empty["invoice"] == {"integrations": [], "events": {"nodes": []}}


def test_an_event_leads_to_its_invoice_and_customer(api: httpx.Client, paid_and_dead: dict[str, Any]) -> None:
    payment = paid_and_dead["paid"][3]
    query = """query($id: ID!) { event(id: $id) { invoice { id integrations { integration status } }
      customer { id events(first: 2) { nodes { type } } } } }"""
    event = data(api, query, id=payment.event_id)["event"]
    assert event["invoice"]["id"] == "inv_paid"
    assert event["customer"]["id"] == "cus_1"
    assert [n["type"] for n in event["customer"]["events"]["nodes"]] == [
        "invoice.issued",
        "invoice.requested",
    ]


def test_dead_letter_queue_depths(api: httpx.Client, topology: Topology) -> None:
    sqs: Any = boto3.client("sqs", region_name="ap-southeast-1")
    url = sqs.get_queue_url(QueueName=topology.dlq_name("erpnext"))["QueueUrl"]
    for n in range(3):
        sqs.send_message(
            QueueUrl=url, MessageBody=f"dead {n}", MessageGroupId=f"g{n}", MessageDeduplicationId=f"d{n}"
        )
    depths = data(api, "{ deadLetterQueues { integration messages error } }")["deadLetterQueues"]
    assert depths == [
        {"integration": "XENDIT", "messages": 0, "error": None},
        {"integration": "ERPNEXT", "messages": 3, "error": None},
        {"integration": "CHARTMOGUL", "messages": 0, "error": None},
        {"integration": "MAUTIC", "messages": 0, "error": None},
    ]


def test_a_query_too_deep_is_refused_before_it_runs(api: httpx.Client) -> None:
    # 9 levels: event, invoice, events, nodes, customer, events, nodes, invoice, id.
    deep = """{ event(id: "x") { invoice { events { nodes { customer { events { nodes {
      invoice { id } } } } } } } } }"""
    body = gql(api, deep)
    assert "query_too_deep" in codes(body)
    assert body.get("data") is None
    fine = '{ event(id: "x") { invoice { events { edges { node { integrations { status } } } } } } }'
    assert data(api, fine) == {"event": None}


def test_a_query_too_costly_or_too_large_is_refused_before_it_runs(api: httpx.Client) -> None:
    # 1 + 100 events x (their invoice's summary, 5, and their customer's, 5) = 1001 > 1000.
    costly = """{ events(customerId: "c", first: 100) { nodes {
      invoice { integrations { status } } customer { integrations { status } } } } }"""
    body = gql(api, costly)
    assert codes(body) == ["query_too_costly"]
    assert "cost" in body["errors"][0]["message"]
    # A variable page size counts as the largest page.
    variable = """query($n: Int!) { events(customerId: "c", first: $n) { nodes {
      invoice { integrations { status } } customer { integrations { status } } } } }"""
    assert codes(gql(api, variable, n=1)) == ["query_too_costly"]
    affordable = '{ events(customerId: "c", first: 100) { nodes { customer { id } } } }'
    assert data(api, affordable) == {"events": {"nodes": []}}
    aliases = "{ " + " ".join(f'a{n}: event(id: "{n}") {{ id }}' for n in range(11)) + " }"
    assert "too_many_aliases" in codes(gql(api, aliases))
    huge = "{ " + " ".join("a" for _ in range(2100)) + " }"  # 2100 tokens in 4 KB
    assert codes(gql(api, huge)) == ["query_too_large"]


def test_errors_carry_codes(api: httpx.Client) -> None:
    assert codes(gql(api, "{ event(id: ")) == ["graphql_parse_failed"]
    assert codes(gql(api, "{ nosuchfield }")) == ["graphql_validation_failed"]
    assert codes(gql(api, "{ events(first: 1, status: NOPE) { nodes { id } } }")) == [
        "graphql_validation_failed"
    ]


def test_introspection_is_on_by_default(api: httpx.Client) -> None:
    types = data(api, "{ __schema { types { name } } }")["__schema"]["types"]
    assert {"Event", "Timeline", "Money"} <= {t["name"] for t in types}


@pytest.fixture
def locked_down(topology: Topology, serve_asgi: Callable[[Any], str], tokens: dict[str, str]) -> str:
    settings = IngestSettings(
        billing_stage=topology.stage,
        billing_api_keys=tokens["api"],
        xendit_callback_token=tokens["callback"],
        graphql_ide=False,
        graphql_introspection=False,
    )
    return serve_asgi(create_app(settings))


def test_introspection_and_the_ide_can_be_switched_off(locked_down: str, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=locked_down, headers={"Authorization": f"Bearer {tokens['api']}"}) as api:
        assert set(codes(gql(api, "{ __schema { types { name } } }"))) == {"introspection_disabled"}
        assert data(api, "{ __typename }") == {"__typename": "Query"}
        assert api.get("/graphql", headers={"Accept": "text/html"}).status_code == 404
        assert api.get("/graphql/assets/start.js").status_code == 404
    with httpx.Client(base_url=locked_down) as anonymous:
        assert anonymous.get("/graphql", headers={"Accept": "text/html"}).status_code == 401


def test_graphiql_is_served_from_the_ingest_itself_without_a_key(client: httpx.Client) -> None:
    page = client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "http" not in page.text  # no CDN: every file is the ingest's own
    for asset in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "start.js",
    ):
        assert f"/graphql/assets/{asset}" in page.text
        response = client.get(f"/graphql/assets/{asset}")
        assert response.status_code == 200, asset
        assert len(response.content) > 100
