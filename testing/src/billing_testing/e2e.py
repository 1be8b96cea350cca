"""Driving the running stack end to end and checking what reached each downstream system.

A ``Flow`` is one customer's life: ``PUT /v1/customers``, ``POST /v1/invoices``, the Xendit invoice
paid in the sandbox (which sends the real callback). ``Client`` does the HTTP (round-robin over
ingest replicas, retrying connection errors, counting every 2xx acknowledgement);
``check(stack, flows)`` reads the four sandboxes' state and the ledger and returns what is lost,
duplicated or wrong. Used by ``tests/reliability`` and ``bench/e2e.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import httpx

from billing_cli.local_stack import (
    LOCAL_API_KEY,
    LOCAL_CALLBACK_TOKEN,
    LOCAL_ERPNEXT_KEY,
    LOCAL_ERPNEXT_SECRET,
    REGION,
)
from billing_testing.stack import SANDBOXES, Stack
from lovia_billing import derive_event_id
from lovia_billing.topology import Integration, Topology

API = {"Authorization": f"Bearer {LOCAL_API_KEY}"}
ERPNEXT_AUTH = {"Authorization": f"token {LOCAL_ERPNEXT_KEY}:{LOCAL_ERPNEXT_SECRET}"}
INTEGRATIONS = tuple(i.value for i in Integration)


@dataclass
class Flow:
    """One customer, one invoice, one payment; the ids its events get."""

    customer_id: str
    invoice_id: str
    amount: int
    item_code: str = "PLAN-PRO"
    customer_event: str | None = None
    invoice_event: str | None = None
    xendit_id: str | None = None
    payment_id: str | None = None  # the payment's identity at Xendit, once paid
    pay_clicked_at: float | None = None  # time.monotonic() when the pay (and so the callback) was triggered

    @property
    def email(self) -> str:
        return f"{self.customer_id.replace('_', '-')}@example.co.id"

    def customer_body(self) -> dict[str, Any]:
        return {"email": self.email, "name": f"Budi {self.customer_id}", "company": f"PT {self.customer_id}"}

    def invoice_body(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "customer_id": self.customer_id,
            "currency": "IDR",
            "amount": str(self.amount),
            "lines": [
                {
                    "item_code": self.item_code,
                    "description": "Plan",
                    "quantity": 1,
                    "unit_amount": str(self.amount),
                }
            ],
            "description": f"Lovia {self.invoice_id}",
            "payer_email": self.email,
            "subscription_id": f"sub_{self.invoice_id}",
            "period": {"start": "2026-12-01", "end": "2026-12-31"},
        }

    def event_ids(self) -> dict[str, str]:
        """Every event of the flow known so far, by type, in the order they happen."""
        ids: dict[str, str] = {}
        if self.customer_event:
            ids["customer.upserted"] = self.customer_event
        if self.invoice_event:
            ids["invoice.requested"] = self.invoice_event
        ids["invoice.issued"] = derive_event_id("invoice.issued", self.invoice_id)
        if self.xendit_id:
            ids["xendit.invoice.paid"] = derive_event_id("xendit.invoice.paid", self.xendit_id, "PAID")
        if self.payment_id:
            ids["payment.succeeded"] = derive_event_id("payment.succeeded", self.payment_id)
        return ids


def make_flows(prefix: str, count: int, *, base_amount: int = 100_000) -> list[Flow]:
    return [
        Flow(f"cus_{prefix}{i:03d}", f"inv_{prefix}{i:03d}", base_amount + 1000 * i) for i in range(count)
    ]


@dataclass
class Client:
    """HTTP to the stack. Ingest calls go round-robin over ``ingest_urls`` and are retried on
    connection errors (a replica restarting) until ``retry_for`` seconds have passed."""

    stack: Stack
    ingest_urls: Sequence[str]
    retry_for: float = 30.0
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (path, event_id) answered 2xx
    sent: int = 0
    connection_retries: int = 0
    _http: httpx.AsyncClient = field(init=False)
    _next: Any = field(init=False)

    def __post_init__(self) -> None:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self._http = httpx.AsyncClient(timeout=15.0, limits=limits)
        self._next = itertools.cycle(self.ingest_urls)

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._http.aclose()

    async def ingest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        deadline = time.monotonic() + self.retry_for
        self.sent += 1
        while True:
            url = next(self._next)
            try:
                response = await self._http.request(method, url + path, **kwargs)
            except httpx.TransportError:
                # Refused, reset or cut off: nothing was acknowledged, so sending again is safe.
                if time.monotonic() > deadline:
                    raise
                self.connection_retries += 1
                await asyncio.sleep(0.05)
                continue
            if response.is_success:
                self.acknowledged.append((path, response.json().get("event_id", "")))
            return response

    async def put_customer(self, flow: Flow) -> str:
        headers = {**API, "Idempotency-Key": f"put-{flow.customer_id}"}
        response = await self.ingest(
            "PUT", f"/v1/customers/{flow.customer_id}", headers=headers, json=flow.customer_body()
        )
        assert response.status_code == 202, response.text
        flow.customer_event = response.json()["event_id"]
        return flow.customer_event

    async def post_invoice(self, flow: Flow) -> str:
        response = await self.ingest("POST", "/v1/invoices", headers=API, json=flow.invoice_body())
        assert response.status_code == 202, response.text
        flow.invoice_event = response.json()["event_id"]
        return flow.invoice_event

    async def xendit_invoices(self, external_id: str) -> list[dict[str, Any]]:
        """Xendit's invoices for our invoice id, read through the side door (never faulted)."""
        response = await self._http.get(self.stack.url("xendit-sandbox") + "/_sandbox/state")
        response.raise_for_status()
        return [i for i in response.json()["invoices"] if i["external_id"] == external_id]

    async def wait_xendit_invoice(self, flow: Flow, within: float = 60.0) -> str:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = await self.xendit_invoices(flow.invoice_id)
            if found:
                flow.xendit_id = str(found[0]["id"])
                return flow.xendit_id
            await asyncio.sleep(0.2)
        raise TimeoutError(f"no Xendit invoice for {flow.invoice_id} within {within} s")

    async def pay(self, flow: Flow, **delivery: Any) -> None:
        """Pay in the Xendit sandbox; it sends the PAID callback (with ``delivery`` options)."""
        xendit_id = flow.xendit_id or await self.wait_xendit_invoice(flow)
        flow.pay_clicked_at = time.monotonic()
        response = await self._http.post(
            self.stack.url("xendit-sandbox") + f"/_sandbox/invoices/{xendit_id}/pay",
            json={"channel": "BCA", **delivery},
        )
        assert response.status_code == 200, response.text
        flow.payment_id = str(response.json()["invoice"]["payment_id"])

    async def callbacks(self, xendit_id: str) -> list[dict[str, Any]]:
        response = await self._http.get(
            self.stack.url("xendit-sandbox") + "/_sandbox/callbacks", params={"invoice_id": xendit_id}
        )
        response.raise_for_status()
        result: list[dict[str, Any]] = response.json()
        return result

    async def post_callback(self, body: dict[str, Any]) -> httpx.Response:
        """A Xendit callback posted straight to the ingest, with the token (as Xendit would)."""
        return await self.ingest(
            "POST", "/webhooks/xendit/invoice", headers={"x-callback-token": LOCAL_CALLBACK_TOKEN}, json=body
        )

    async def run_flow(self, flow: Flow, **delivery: Any) -> None:
        await self.put_customer(flow)
        await self.post_invoice(flow)
        await self.wait_xendit_invoice(flow)
        await self.pay(flow, **delivery)

    async def ledger(self, event_id: str) -> dict[str, Any] | None:
        response = await self._http.get(self.stack.url("ingest") + f"/v1/events/{event_id}", headers=API)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result


async def run_flows(client: Client, flows: Iterable[Flow], *, concurrency: int = 8, **delivery: Any) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(flow: Flow) -> None:
        async with gate:
            await client.run_flow(flow, **delivery)

    await asyncio.gather(*(one(f) for f in flows))


# ---- reading the downstream systems ----------------------------------------------------------------


def sandbox_states(stack: Stack) -> dict[str, Any]:
    return {name: httpx.get(stack.url(name) + "/_sandbox/state", timeout=30).json() for name in SANDBOXES}


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.wrong or self.not_done)

    def __str__(self) -> str:
        parts = [f"{k}: {v[:10]}{' ...' if len(v) > 10 else ''}" for k, v in vars(self).items() if v]
        return "; ".join(parts) or "ok"


def _count(where: str, flow_id: str, found: int, verdict: Verdict) -> bool:
    if found == 0:
        verdict.lost.append(f"{flow_id}: no {where}")
    elif found > 1:
        verdict.duplicated.append(f"{flow_id}: {found} {where}")
    return found == 1


def _by(records: Iterable[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault(str(record.get(key)), []).append(record)
    return grouped


def check_downstream(stack: Stack, flows: Sequence[Flow], *, paid: bool = True) -> Verdict:
    """Exactly one of each record per flow in each system, with the right amounts and tags."""
    states = sandbox_states(stack)
    erp = states["erpnext-sandbox"]["documents"]
    cm = states["chartmogul-sandbox"]
    xendit = _by(states["xendit-sandbox"]["invoices"], "external_id")
    customers = _by(erp.get("Customer", []), "custom_lovia_customer_id")
    sales = _by(erp.get("Sales Invoice", []), "custom_lovia_invoice_id")
    payments = _by(
        (
            {**p, "invoice": r.get("reference_name")}
            for p in erp.get("Payment Entry", [])
            for r in p["references"]
        ),
        "invoice",
    )
    cm_customers = _by(cm["customers"], "external_id")
    cm_invoices = _by(cm["invoices"], "external_id")
    contacts = _by(
        ({**c, **c["fields"]["all"]} for c in states["mautic-sandbox"]["contacts"].values()),
        "billing_customer_id",
    )
    verdict = Verdict()
    for f in flows:
        cents = f.amount * 100
        found = xendit.get(f.invoice_id, [])
        if _count("Xendit invoice", f.invoice_id, len(found), verdict):
            if Decimal(str(found[0]["amount"])) != f.amount:
                verdict.wrong.append(f"{f.invoice_id}: Xendit amount {found[0]['amount']}")
            if paid and found[0]["status"] not in ("PAID", "SETTLED"):
                verdict.wrong.append(f"{f.invoice_id}: Xendit status {found[0]['status']}")
        _count("ERPNext Customer", f.customer_id, len(customers.get(f.customer_id, [])), verdict)
        found = sales.get(f.invoice_id, [])
        if _count("ERPNext Sales Invoice", f.invoice_id, len(found), verdict):
            si = found[0]
            if Decimal(str(si["grand_total"])) != f.amount or si["docstatus"] != 1:
                verdict.wrong.append(f"{f.invoice_id}: Sales Invoice {si['grand_total']} ({si['docstatus']})")
            pes = payments.get(si["name"], [])
            if (
                paid
                and _count("ERPNext Payment Entry", f.invoice_id, len(pes), verdict)
                and (Decimal(str(pes[0]["paid_amount"])) != f.amount or pes[0]["docstatus"] != 1)
            ):
                verdict.wrong.append(f"{f.invoice_id}: Payment Entry {pes[0]['paid_amount']}")
        _count("ChartMogul customer", f.customer_id, len(cm_customers.get(f.customer_id, [])), verdict)
        found = cm_invoices.get(f.invoice_id, [])
        if _count("ChartMogul invoice", f.invoice_id, len(found), verdict):
            total = sum(li["amount_in_cents"] for li in found[0]["line_items"])
            if total != cents:
                verdict.wrong.append(f"{f.invoice_id}: ChartMogul invoice {total} cents")
            ok = [
                t for t in found[0]["transactions"] if t["type"] == "payment" and t["result"] == "successful"
            ]
            if (
                paid
                and _count("ChartMogul transaction", f.invoice_id, len(ok), verdict)
                and ok[0]["amount_in_cents"] != cents
            ):
                verdict.wrong.append(f"{f.invoice_id}: ChartMogul transaction {ok[0]['amount_in_cents']}")
        found = contacts.get(f.customer_id, [])
        if _count("Mautic contact", f.customer_id, len(found), verdict):
            tags = {t["tag"] for t in found[0]["tags"]}
            want = {"billing-paid"} if paid else {"billing-open-invoice"}
            unwanted = {"billing-open-invoice", "billing-payment-failed"} if paid else {"billing-paid"}
            if not want <= tags or tags & unwanted or found[0]["email"] != f.email:
                verdict.wrong.append(f"{f.customer_id}: Mautic tags {sorted(tags)}")
    return verdict


async def check_ledger(client: Client, flows: Sequence[Flow]) -> list[str]:
    """Every event of every flow ``done`` in every integration it was routed to."""
    problems: list[str] = []
    gate = asyncio.Semaphore(16)

    async def one(flow: Flow, event_type: str, event_id: str) -> None:
        async with gate:
            entry = await client.ledger(event_id)
        if entry is None:
            problems.append(f"{flow.customer_id} {event_type}: not in the ledger")
            return
        statuses = {name: state["status"] for name, state in entry["integrations"].items()}
        if not statuses or any(s != "done" for s in statuses.values()):
            problems.append(f"{flow.customer_id} {event_type}: {statuses}")

    await asyncio.gather(*(one(f, t, e) for f in flows for t, e in f.event_ids().items()))
    return problems


class Queues:
    """Visible + in-flight counts of a stage's queues and DLQs in the stand-in."""

    def __init__(self, stack: Stack) -> None:
        self.sqs: Any = boto3.client(
            "sqs",
            region_name=REGION,
            endpoint_url=stack.url("aws"),
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - the stand-in accepts anything
        )
        topology = Topology(stack.stage)
        self.urls = {
            f"{i.value}{suffix}": self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            for i in Integration
            for suffix, name in (("", topology.queue_name(i)), ("-dlq", topology.dlq_name(i)))
        }

    def counts(self) -> dict[str, int]:
        result = {}
        for name, url in self.urls.items():
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            result[name] = int(attributes["ApproximateNumberOfMessages"]) + int(
                attributes["ApproximateNumberOfMessagesNotVisible"]
            )
        return result

    def busy(self) -> dict[str, int]:
        return {name: n for name, n in self.counts().items() if n}

    def purge(self) -> None:
        """Empty the queues that hold anything (SQS allows one purge per queue per minute)."""
        for name in self.busy():
            with contextlib.suppress(self.sqs.exceptions.PurgeQueueInProgress):
                self.sqs.purge_queue(QueueUrl=self.urls[name])

    def dead(self) -> list[str]:
        """What the DLQs hold (event id, type and reason), peeked without taking it."""
        found = []
        for name, url in self.urls.items():
            if name.endswith("-dlq"):
                messages = self.sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"]
                ).get("Messages", [])
                for m in messages:
                    reason = m.get("MessageAttributes", {}).get("dead_reason", {}).get("StringValue")
                    found.append(f"{name}: {m['Body'][:160]} ({reason})")
        return found


async def settle(client: Client, flows: Sequence[Flow], *, within: float, paid: bool = True) -> Verdict:
    """Wait until every queue and DLQ is empty and the downstream check passes; the last verdict.

    Empty queues (nothing visible, nothing in flight, nothing waiting for a retry) mean no effect can
    still arrive, so a duplicate cannot appear after the check.
    """
    queues = Queues(client.stack)
    deadline = time.monotonic() + within
    verdict = Verdict(not_done=["not checked yet"])
    while time.monotonic() < deadline:
        busy = await asyncio.to_thread(queues.busy)
        if not busy:
            verdict = await asyncio.to_thread(check_downstream, client.stack, flows, paid=paid)
            verdict.not_done = await check_ledger(client, flows)
            if verdict.ok:
                return verdict
        else:
            verdict = Verdict(not_done=[f"queues busy: {busy}"])
            if any(name.endswith("-dlq") for name in busy):
                verdict.not_done += await asyncio.to_thread(queues.dead)
        await asyncio.sleep(0.5)
    # One last full look, so the failure names what is missing rather than "busy".
    final = await asyncio.to_thread(check_downstream, client.stack, flows, paid=paid)
    final.not_done = await check_ledger(client, flows) + verdict.not_done
    return final
