"""AWS stops answering while callbacks and API calls arrive; a DynamoDB table disappears.

The AWS stand-in is frozen (SIGSTOP) for 45 s and for 140 s — in real time, at the ingest's
default 10 s answer deadline (no scaling), far past the 30 s Xendit waits for an answer. Like a
host that stops answering, the frozen stand-in still accepts connections and buffers requests,
and processes them all late when it goes on. Requests are sent in six waves across the freeze, the
last one half a second before it ends:

* every request is answered within the deadline: 200/202, or 503 with ``Retry-After``;
* nothing answered 503 reaches a queue, and the ledger never claims ``queued`` for it (the
  ingest's clean-up, or its grace period, says ``not_queued``);
* everything answered 200/202 is delivered exactly once (with every 503 sent again afterwards, as
  Xendit and a client would), and every flow ends exactly once in every downstream system.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
import pytest

from billing_cli.local_stack import LOCAL_API_KEY, LOCAL_CALLBACK_TOKEN, REGION
from billing_testing.e2e import Client, Flow, Queues, make_flows, settle
from billing_testing.reliability import TALLY, Row
from billing_testing.stack import Stack
from lovia_billing import EventType, derive_event_id
from lovia_billing.topology import Topology

pytestmark = [pytest.mark.slow]

DEADLINE = 10.0  # IngestSettings.answer_deadline_seconds, the stack's ingest runs the default
READY_TIMEOUT = 2.0  # IngestSettings.ready_timeout_seconds
#: An answer may leave this much after the deadline on a busy 2-core machine (event-loop latency).
SLACK = 1.5
API = {"Authorization": f"Bearer {LOCAL_API_KEY}"}


@dataclass
class Sent:
    """One request sent during the freeze, and what became of it."""

    kind: str  # "callback", "customer" or "invoice"
    flow: Flow
    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    event_id: str
    status: int = 0
    seconds: float = 0.0
    answers: list[int] = field(default_factory=list)


def _callback(flow: Flow, body: dict[str, Any]) -> Sent:
    event_id = derive_event_id("xendit.invoice.paid", flow.xendit_id or "", "PAID")
    headers = {"x-callback-token": LOCAL_CALLBACK_TOKEN}
    return Sent("callback", flow, "POST", "/webhooks/xendit/invoice", body, headers, event_id)


def _customer(flow: Flow) -> Sent:
    key = f"put-{flow.customer_id}"
    event_id = derive_event_id(EventType.CUSTOMER_UPSERTED.value, flow.customer_id, key)
    path = f"/v1/customers/{flow.customer_id}"
    return Sent(
        "customer", flow, "PUT", path, flow.customer_body(), {**API, "Idempotency-Key": key}, event_id
    )


def _invoice(flow: Flow) -> Sent:
    event_id = derive_event_id(EventType.INVOICE_REQUESTED.value, flow.invoice_id)
    return Sent("invoice", flow, "POST", "/v1/invoices", flow.invoice_body(), API, event_id)


async def _send(http: httpx.AsyncClient, url: str, sent: Sent) -> None:
    started = time.monotonic()
    response = await http.request(sent.method, url + sent.path, json=sent.body, headers=sent.headers)
    sent.seconds = time.monotonic() - started
    sent.status = response.status_code
    sent.answers.append(response.status_code)
    if response.status_code in (200, 202):
        assert response.json()["event_id"] == sent.event_id, (sent.kind, response.text)
    elif response.status_code == 503:
        assert response.headers["retry-after"], response.headers
        assert response.json()["error"]["code"] in ("deadline_exceeded", "unavailable"), response.text


async def _ledger_statuses(client: Client, event_id: str) -> dict[str, str] | None:
    entry = await client.ledger(event_id)
    return None if entry is None else {name: s["status"] for name, s in entry["integrations"].items()}


async def _freeze(fresh: Stack, *, seconds: float, prefix: str) -> None:
    row = TALLY.add(Row(f"AWS frozen {seconds:g} s"))
    started = time.monotonic()
    paid = make_flows(f"{prefix}p", 6, base_amount=300_000)  # their callbacks arrive during the freeze
    new = make_flows(f"{prefix}n", 6, base_amount=400_000)  # their API calls arrive during the freeze
    ingest = fresh.url("ingest")
    async with Client(fresh, [ingest]) as client, httpx.AsyncClient(timeout=60) as http:
        # Before: the paid flows' customers and invoices are in, their invoices paid at Xendit with
        # the PAID callback held in the sandbox's outbox; we deliver its body, as Xendit would.
        for flow in paid:
            await client.put_customer(flow)
            await client.post_invoice(flow)
        for flow in paid:
            await client.pay(flow, hold=True)
        # The freeze starts once the consumers are idle: what is measured is the ingest. (A consumer
        # cut off between its downstream write and its ledger mark leaves "processing" behind:
        # the consumer runtime's concern, reported separately.)
        await _until_done(
            client, [e for f in paid for t, e in f.event_ids().items() if t in _BEFORE], within=60
        )
        requests = [_callback(f, (await client.callbacks(f.xendit_id or ""))[0]["body"]) for f in paid]
        requests += [make(f) for f in new for make in (_customer, _invoice)]
        # Six waves: at the start, through the freeze, half a deadline before its end, and half a
        # second before it (those are still waiting for AWS when it goes on).
        offsets = [0.0, seconds * 0.25, seconds * 0.5, seconds * 0.75, seconds - DEADLINE / 2, seconds - 0.5]
        waves = [requests[i :: len(offsets)] for i in range(len(offsets))]

        async def wave(offset: float, batch: list[Sent]) -> None:
            await asyncio.sleep(offset)
            await asyncio.gather(*(_send(http, ingest, s) for s in batch))

        with fresh.frozen("aws"):
            frozen_at = time.monotonic()
            tasks = [asyncio.create_task(wave(o, b)) for o, b in zip(offsets, waves, strict=True)]
            await asyncio.sleep(seconds / 2)
            probe = time.monotonic()
            ready = await http.get(ingest + "/health/ready")
            ready_seconds = time.monotonic() - probe
            alive = await http.get(ingest + "/")
            await asyncio.sleep(seconds - (time.monotonic() - frozen_at))
        await asyncio.gather(*tasks)
        row.faults += 1
        row.refused = sum(s.status == 503 for s in requests)
        row.slowest = max(s.seconds for s in requests)
        print(
            f"AWS frozen {seconds:g} s: answers "
            + ", ".join(f"{s.kind} {s.status} in {s.seconds:.1f} s" for wave in waves for s in wave)
        )

        # Every request answered within the deadline, each 200/202 or 503; readiness said so too.
        assert {s.status for s in requests} <= {200, 202, 503}, [(s.kind, s.status) for s in requests]
        assert row.slowest <= DEADLINE + SLACK, [(s.kind, s.seconds) for s in requests]
        # AWS answered nothing before it went on: only the last waves can have been taken.
        assert row.refused >= len(requests) - len(waves[-1]) - len(waves[-2])
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "not_ready"
        assert ready_seconds <= READY_TIMEOUT + SLACK
        assert alive.status_code == 200

        # Once the queues are idle, nothing refused was ever on a queue (no consumer saw it) and the
        # ledger does not claim it queued: every integration reads not_queued, or there is no entry.
        refused = [s for s in requests if s.status == 503]
        await _until_idle(fresh, within=90)
        claims: dict[str, Any] = {}
        deadline = time.monotonic() + 75  # the clean-up marks within seconds; the grace is 60 s
        while time.monotonic() < deadline:
            claims = {
                f"{s.kind} {s.flow.customer_id}": await _ledger_statuses(client, s.event_id) for s in refused
            }
            if all(c is None or set(c.values()) == {"not_queued"} for c in claims.values()):
                break
            await asyncio.sleep(1)
        assert all(c is None or set(c.values()) == {"not_queued"} for c in claims.values()), claims
        assert not Queues(fresh).busy()

        # Sent again, as Xendit and a client do after a 503: taken now, and the flows complete.
        for sent in refused:
            await _send(http, ingest, sent)
            assert sent.status in (200, 202), (sent.kind, sent.status)
        row.duplicates += len(refused)
        for flow in new:
            flow.customer_event = derive_event_id(
                EventType.CUSTOMER_UPSERTED.value, flow.customer_id, f"put-{flow.customer_id}"
            )
            flow.invoice_event = derive_event_id(EventType.INVOICE_REQUESTED.value, flow.invoice_id)
        for flow in new:
            await client.pay(flow)
        verdict = await settle(client, [*paid, *new], within=150)
        TALLY.record(row, verdict)
        row.events = len(requests) + len(refused) + 3 * len(paid) + len(new)
        assert verdict.ok, verdict
    row.seconds = time.monotonic() - started


_BEFORE = ("customer.upserted", "invoice.requested", "invoice.issued")


async def _until_done(client: Client, event_ids: list[str], *, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        statuses = [await _ledger_statuses(client, e) for e in event_ids]
        if all(s and set(s.values()) == {"done"} for s in statuses):
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"events not done within {within} s: {statuses}")


async def _until_idle(stack: Stack, *, within: float) -> None:
    queues = Queues(stack)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not await asyncio.to_thread(queues.busy):
            return
        await asyncio.sleep(0.5)
    pytest.fail(f"queues still busy after {within} s: {queues.busy()}")


@pytest.mark.timeout(360)
async def test_aws_frozen_45_s_every_request_answered_within_the_deadline(fresh: Stack) -> None:
    await _freeze(fresh, seconds=45, prefix="f45")


@pytest.mark.timeout(480)
async def test_aws_frozen_140_s_every_request_answered_within_the_deadline(fresh: Stack) -> None:
    await _freeze(fresh, seconds=140, prefix="f140")


@pytest.mark.timeout(180)
async def test_a_dynamodb_table_removed_is_not_ready_within_its_timeout(fresh: Stack) -> None:
    row = TALLY.add(Row("DynamoDB table removed"))
    started = time.monotonic()
    topology = Topology(fresh.stage)
    dynamodb: Any = boto3.client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=fresh.url("aws"),
        aws_access_key_id="local",
        aws_secret_access_key="local",  # the stand-in accepts anything
    )
    ingest = fresh.url("ingest")
    flows = make_flows("tbl", 2, base_amount=500_000)
    async with Client(fresh, [ingest]) as client, httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(ingest + "/health/ready")).status_code == 200
        dynamodb.delete_table(TableName=topology.ledger_table)
        row.faults += 1

        probe = time.monotonic()
        ready = await http.get(ingest + "/health/ready")
        row.slowest = time.monotonic() - probe
        assert ready.status_code == 503
        assert row.slowest <= READY_TIMEOUT + SLACK
        failed = {d["field"]: d["message"] for d in ready.json()["error"]["details"]}
        assert list(failed) == [f"table {topology.ledger_table}"]
        assert "ResourceNotFoundException" in failed[f"table {topology.ledger_table}"]
        assert (await http.get(ingest + "/")).status_code == 200  # liveness: not restarted for it

        # A write is refused as unavailable (503, retry), not an internal error, and nothing queued.
        sent = _customer(flows[0])
        await _send(http, ingest, sent)
        assert sent.status == 503
        row.refused += 1
        assert not Queues(fresh).busy()

        await asyncio.to_thread(fresh.provision)  # the table is back, empty (idle queues purged)
        assert (await http.get(ingest + "/health/ready")).status_code == 200
        await _send(http, ingest, sent)
        assert sent.status == 202
        row.duplicates += 1
        flows[0].customer_event = sent.event_id
        await client.post_invoice(flows[0])
        await client.pay(flows[0])
        await client.run_flow(flows[1])
        verdict = await settle(client, flows, within=90)
        TALLY.record(row, verdict)
        row.events = len(client.acknowledged) + 1  # and the customer, sent again
        assert verdict.ok, verdict
    row.seconds = time.monotonic() - started
