"""The operators' console over HTTP: its key, its searches, what a page says, and its switch."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any

import httpx
import pytest

from ingest.app import create_app
from lovia_billing import IngestSettings, Topology


def text(html: str) -> str:
    """The page as a person reads it: tags out, whitespace folded."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def row(html: str, element_id: str) -> str:
    match = re.search(rf'<tr id="{re.escape(element_id)}">(.*?)</tr>', html, re.DOTALL)
    assert match, f"no row {element_id}"
    return text(match.group(1))


@pytest.fixture
def signed_in(client: httpx.Client, tokens: dict[str, str]) -> httpx.Client:
    response = client.post("/console/session", json={"key": tokens["api"]})
    assert response.status_code == 200
    return client


def test_without_a_key_the_console_is_the_sign_in_page_and_shows_nothing(
    client: httpx.Client, paid_and_dead: dict[str, Any]
) -> None:
    page = client.get("/console", params={"q": "inv_dead"})
    assert page.status_code == 401
    assert 'id="login"' in page.text
    assert "inv_dead" not in page.text
    assert client.get("/console", headers={"Authorization": "Bearer wrong"}).status_code == 401
    refused = client.post("/console/session", json={"key": "wrong"})
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers


def test_signing_in_keeps_the_key_in_a_strict_http_only_cookie_until_signing_out(
    client: httpx.Client, tokens: dict[str, str]
) -> None:
    response = client.post("/console/session", json={"key": tokens["api"]})
    cookie = response.headers["set-cookie"]
    for attribute in ("HttpOnly", "Path=/console", "SameSite=strict", "Max-Age=43200"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; behind the load balancer it is set
    assert client.get("/console").status_code == 200
    behind_tls = client.post(
        "/console/session", json={"key": tokens["api"]}, headers={"x-forwarded-proto": "https"}
    )
    assert "Secure" in behind_tls.headers["set-cookie"]
    out = client.get("/console/logout")
    assert out.status_code in (302, 303, 307)
    assert client.get("/console").status_code == 401


def test_a_bearer_key_works_without_a_cookie(client: httpx.Client, tokens: dict[str, str]) -> None:
    for key in (tokens["api"], tokens["api_old"]):
        assert client.get("/console", headers={"Authorization": f"Bearer {key}"}).status_code == 200


def test_pages_load_only_their_own_files(signed_in: httpx.Client) -> None:
    page = signed_in.get("/console")
    assert page.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert page.headers["cache-control"] == "no-store"
    assert "http" not in page.text
    for asset in ("console.css", "console.js"):
        assert f"/console/assets/{asset}" in page.text
        assert signed_in.get(f"/console/assets/{asset}").status_code == 200


def test_an_invoice_shows_its_timeline_and_where_each_integration_stands(
    signed_in: httpx.Client, paid_and_dead: dict[str, Any]
) -> None:
    html = signed_in.get("/console", params={"q": "inv_dead"}).text
    assert "Timeline of invoice inv_dead" in text(html)
    assert row(html, "summary-erpnext").startswith("erpnext dead 1 dead")
    assert "PermanentError: ERPNext 417 Customer cus_1 not found" in row(html, "summary-erpnext")
    assert row(html, "summary-chartmogul").startswith("chartmogul retrying")
    assert row(html, "summary-xendit").startswith("xendit done")
    issued = paid_and_dead["dead"][1]
    assert "invoice.issued" in row(html, f"row-{issued.event_id}")
    assert "dead PermanentError" in row(html, f"row-{issued.event_id}")
    paid = signed_in.get("/console", params={"q": "inv_paid"}).text
    assert re.findall(r'class="type">([^<]+)<', paid) == [
        "payment.succeeded",
        "xendit.invoice.paid",
        "invoice.issued",
        "invoice.requested",
    ]
    for integration in ("xendit", "erpnext", "chartmogul", "mautic"):
        assert row(paid, f"summary-{integration}").startswith(f"{integration} done")


def test_any_id_finds_its_events(signed_in: httpx.Client, paid_and_dead: dict[str, Any]) -> None:
    payment = paid_and_dead["paid"][3]
    by_event = signed_in.get("/console", params={"q": payment.event_id}).text
    assert f"Event {payment.event_id}" in text(by_event)
    assert row(by_event, "event-erpnext").startswith("erpnext done 1")
    assert "Timeline of invoice inv_paid" in text(by_event)  # the event's own invoice
    by_xendit = signed_in.get("/console", params={"q": "py-paid"}).text
    assert "Timeline of Xendit id py-paid" in text(by_xendit)
    assert payment.event_id in by_xendit
    by_customer = signed_in.get("/console", params={"q": "cus_1"}).text
    assert "Timeline of customer cus_1" in text(by_customer)
    assert by_customer.count('<tr id="row-') == 6
    forced = signed_in.get("/console", params={"q": "inv_paid", "by": "customer"}).text
    assert "Nothing in the ledger for inv_paid as customer." in text(forced)
    nothing = signed_in.get("/console", params={"q": "<script>alert(1)</script>"}).text
    assert "<script>alert" not in nothing
    assert "<strong>&lt;script&gt;alert(1)&lt;/script&gt;</strong>" in nothing


def test_the_dead_letter_depth_of_each_integration(
    signed_in: httpx.Client, topology: Topology, queues: Any
) -> None:
    url = queues.url("mautic", dlq=True)
    queues.sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="d")
    html = signed_in.get("/console").text
    depths = dict(re.findall(r'<td id="dlq-(\w+)" class="\w+">\s*(\d+)\s*</td>', html))
    assert depths == {"xendit": "0", "erpnext": "0", "chartmogul": "0", "mautic": "1"}


def test_a_long_timeline_pages_with_older_events(signed_in: httpx.Client, topology: Topology) -> None:
    from billing_testing.factories import customer
    from billing_testing.ledger import record

    record(topology, [customer("cus_long", request_key=f"k{n}") for n in range(55)])
    first = signed_in.get("/console", params={"q": "cus_long"}).text
    assert first.count('<tr id="row-') == 50
    older = re.search(r'<a id="older" href="([^"]+)"', first)
    assert older
    second = signed_in.get(unescape(older.group(1))).text
    assert second.count('<tr id="row-') == 5
    assert 'id="older"' not in second


@pytest.fixture
def console_off(topology: Topology, serve_asgi: Callable[[Any], str], tokens: dict[str, str]) -> str:
    settings = IngestSettings(
        billing_stage=topology.stage, billing_api_keys=tokens["api"], console_enabled=False
    )
    return serve_asgi(create_app(settings))


def test_a_setting_turns_the_console_off(console_off: str, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=console_off, headers={"Authorization": f"Bearer {tokens['api']}"}) as api:
        assert api.get("/console").status_code == 404
        assert api.get("/console/assets/console.css").status_code == 404
        assert api.post("/console/session", json={"key": tokens["api"]}).status_code == 404
