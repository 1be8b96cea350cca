"""mautic_sync's handlers against the Mautic sandbox and the moto stand-in, called as the runtime does."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from mautic_events import CUSTOMER, EMAIL, cancelled, customer, expired, issued, paid, refunded

from billing_testing.context import RecordingContext
from lovia_billing import DomainEvent, Integration, PermanentError, RateLimited, RetryableError, Topology
from lovia_billing.consumer import IntegrationApp
from lovia_billing.topology import MAX_RECEIVE_COUNT
from mautic_sync.app import build
from mautic_sync.settings import MauticSyncSettings


class Harness:
    """Delivers events to the built app and reads the sandbox's side door."""

    def __init__(self, app: IntegrationApp, url: str) -> None:
        self.app, self.url = app, url
        self.ctx = RecordingContext(integration=Integration.MAUTIC)

    async def deliver(self, event: DomainEvent, times: int = 1) -> None:
        for _ in range(times):
            await self.app.handlers[event.event_type](event, self.ctx)

    async def deliver_until_done(self, event: DomainEvent, attempts: int = 3) -> int:
        """Redeliver after retryable failures, as the runtime does; returns the failures seen."""
        for failures in range(attempts):
            try:
                await self.deliver(event)
            except RetryableError:
                continue
            return failures
        raise AssertionError(f"{event.event_type} still failing after {attempts} deliveries")

    async def side_door(self, verb: str, route: str, **body: Any) -> Any:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.request(verb, route, json=body or None)
            response.raise_for_status()
            return response.json()

    async def contacts(self) -> list[dict[str, Any]]:
        state = await self.side_door("GET", "/_sandbox/state")
        return list(state["contacts"].values())

    async def snapshot(self, customer_id: str | None = None) -> dict[str, Any]:
        """A contact's billing view (tags, our fields, active-segment membership): the only contact,
        or the one contact of ``customer_id``."""
        state = await self.side_door("GET", "/_sandbox/state")
        contacts = state["contacts"].values()
        if customer_id is not None:
            contacts = [c for c in contacts if c["fields"]["all"]["billing_customer_id"] == customer_id]
        (contact,) = contacts
        fields = contact["fields"]["all"]
        return {
            "tags": sorted(t["tag"] for t in contact["tags"]),
            "status": fields["billing_status"],
            # Never written (null) and written empty ("") both mean no open invoice.
            "open": fields["billing_open_invoices"] or "",
            "active": contact["id"] in state["segments"]["1"]["members"],
        }

    async def writes(self) -> list[str]:
        state = await self.side_door("GET", "/_sandbox/state")
        return [f"{r['method']} {r['path']}" for r in state["requests"] if r["method"] != "GET"]


def view(tags: list[str], status: str | None, open_ids: str | None, *, active: bool) -> dict[str, Any]:
    return {"tags": tags, "status": status, "open": open_ids, "active": active}


OPEN = "billing-open-invoice"
PAID = view(["billing-paid"], "paid", "", active=True)


@asynccontextmanager
async def opened(settings: MauticSyncSettings) -> AsyncIterator[IntegrationApp]:
    """The app built as the process builds it, its resources (Mautic client, facts store) open."""
    app = build(settings)
    async with AsyncExitStack() as stack:
        for resource in app.resources:
            await stack.enter_async_context(resource)
        yield app


@pytest.fixture
async def harness(sandbox_url: Callable[..., str], tables: Topology) -> AsyncIterator[Harness]:
    url = sandbox_url("mautic")
    settings = MauticSyncSettings(
        billing_stage=tables.stage,
        mautic_base_url=url,
        mautic_client_id="local-mautic-client",
        mautic_client_secret="local-mautic-secret",
    )
    async with opened(settings) as app:
        yield Harness(app, url)


async def test_customer_becomes_one_contact_with_our_fields(harness: Harness) -> None:
    await harness.deliver(customer())
    (contact,) = await harness.contacts()
    fields = contact["fields"]["all"]
    assert fields["email"] == "siti@lovia.example"
    assert (fields["firstname"], fields["lastname"]) == ("Siti", "Nur Aisyah")
    assert fields["company"] == "Lovia Studio"
    assert fields["billing_customer_id"] == CUSTOMER
    assert fields["billing_plan"] == "pro-monthly"


async def test_customer_update_clears_blanks_and_follows_an_email_change(harness: Harness) -> None:
    await harness.deliver(customer())
    await harness.deliver(customer(email="siti.new@lovia.example", company=None, plan="pro-yearly"))
    (contact,) = await harness.contacts()
    fields = contact["fields"]["all"]
    assert fields["email"] == "siti.new@lovia.example"
    assert fields["company"] == ""
    assert fields["billing_plan"] == "pro-yearly"


async def test_the_whole_flow_three_deliveries_each_changing_nothing_more(harness: Harness) -> None:
    steps = [
        (customer(), view([], None, "", active=False)),
        (issued("inv_1"), view(["billing-open-invoice"], "open_invoice", "inv_1", active=False)),
        (paid("inv_1"), view(["billing-paid"], "paid", "", active=True)),
        (
            issued("inv_2", hour=10),
            view(["billing-open-invoice", "billing-paid"], "open_invoice", "inv_2", active=True),
        ),
        (expired("inv_2", hour=34), view(["billing-payment-failed"], "payment_failed", "", active=True)),
        (
            cancelled(hour=48),
            view(["billing-cancelled", "billing-payment-failed"], "cancelled", "", active=False),
        ),
    ]
    for event, expected in steps:
        await harness.deliver(event)
        assert await harness.snapshot() == expected, event.event_type
        writes_before = await harness.writes()
        await harness.deliver(event, times=2)
        assert await harness.snapshot() == expected, f"{event.event_type} redelivered"
        if event.event_type != "customer.upserted":
            # Redeliveries only re-assert segment membership (idempotent); no contact edits.
            repeated = (await harness.writes())[len(writes_before) :]
            assert not [w for w in repeated if "/api/contacts" in w], repeated
    assert len(await harness.contacts()) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/contacts/new"), ("PATCH", "/api/contacts/"), ("POST", "/api/segments/")],
)
async def test_commit_then_fail_on_each_write_still_gives_one_right_contact(
    harness: Harness, method: str, path: str
) -> None:
    await harness.side_door(
        "POST", "/_sandbox/faults", kind="commit_then_fail", method=method, path=path, count=1
    )
    failures = 0
    for event in (customer(), issued("inv_1"), paid("inv_1")):
        failures += await harness.deliver_until_done(event)
    assert failures == 1  # the fault fired, and the redelivery repaired it
    assert len(await harness.contacts()) == 1
    assert await harness.snapshot() == {
        "tags": ["billing-paid"],
        "status": "paid",
        "open": "",
        "active": True,
    }


async def test_rate_limit_raises_rate_limited(harness: Harness) -> None:
    await harness.side_door("POST", "/_sandbox/faults", kind="rate_limit", retry_after=30, count=1)
    with pytest.raises(RateLimited) as caught:
        await harness.deliver(customer())
    assert caught.value.retry_after is not None
    assert 28 < caught.value.retry_after <= 30  # from Mautic's X-RateLimit-Reset timestamp


async def test_invalid_email_is_permanent_and_never_sent(harness: Harness) -> None:
    with pytest.raises(PermanentError, match=r"te,st@user\.\.email.*would be rejected by Mautic.*not sent"):
        await harness.deliver(customer(email="te,st@user..email"))
    assert await harness.writes() == []
    assert await harness.contacts() == []


async def test_redriving_an_invoice_after_its_payment_leaves_only_paid(harness: Harness) -> None:
    """The observed defect: invoice.issued dead-letters, the payment goes through, then
    ``billing dlq redrive mautic --all`` delivers the invoice again."""
    await harness.deliver(customer())
    await harness.side_door(
        "POST", "/_sandbox/faults", kind="status", status=503, path="/api/contacts", count=MAX_RECEIVE_COUNT
    )
    for _ in range(MAX_RECEIVE_COUNT):  # every receive fails: SQS moves it to the DLQ
        with pytest.raises(RetryableError):
            await harness.deliver(issued("inv_1"))
    await harness.deliver(paid("inv_1"))
    assert await harness.snapshot() == PAID
    await harness.deliver(issued("inv_1"))  # the redrive
    assert await harness.snapshot() == PAID


async def test_invoice_before_its_customer_makes_one_contact_the_customer_completes(harness: Harness) -> None:
    await harness.deliver(issued("inv_1"))
    (contact,) = await harness.contacts()
    assert contact["fields"]["all"]["email"] == EMAIL
    assert contact["fields"]["all"]["billing_customer_id"] == CUSTOMER
    assert await harness.snapshot() == view([OPEN], "open_invoice", "inv_1", active=False)
    await harness.deliver(customer(email="siti.new@lovia.example"))
    (completed,) = await harness.contacts()
    assert completed["id"] == contact["id"]
    fields = completed["fields"]["all"]
    assert (fields["email"], fields["firstname"], fields["billing_plan"]) == (
        "siti.new@lovia.example",
        "Siti",
        "pro-monthly",
    )
    assert await harness.snapshot() == view([OPEN], "open_invoice", "inv_1", active=False)


async def test_payment_before_its_customer_is_recorded_and_shown_when_the_customer_comes(
    harness: Harness,
) -> None:
    await harness.deliver(paid("inv_1"))  # no contact, no e-mail to create one: acknowledged
    assert await harness.contacts() == []
    assert await harness.writes() == []
    await harness.deliver(customer())
    assert await harness.snapshot() == PAID
    await harness.deliver(issued("inv_1"))  # the invoice, late: still paid only
    assert await harness.snapshot() == PAID
    assert len(await harness.contacts()) == 1


async def test_a_payers_email_of_another_customers_contact_is_not_taken(harness: Harness) -> None:
    await harness.deliver(customer(customer_id="cus_0002", email="finance@lovia.example"))
    await harness.deliver(issued("inv_1", payer_email="finance@lovia.example"))
    (contact,) = await harness.contacts()
    assert contact["fields"]["all"]["billing_customer_id"] == "cus_0002"
    assert contact["tags"] == []
    await harness.deliver(customer())  # cus_0001 comes: its own contact, with its open invoice
    assert await harness.snapshot(CUSTOMER) == view([OPEN], "open_invoice", "inv_1", active=False)
    assert (await harness.snapshot("cus_0002"))["tags"] == []


async def test_a_partial_payment_is_partially_paid_until_the_rest_comes(harness: Harness) -> None:
    await harness.deliver(customer())
    await harness.deliver(issued("inv_1", "150000"))
    await harness.deliver(paid("inv_1", "50000", payment_id="pay_a", hour=1))
    partial = view(["billing-open-invoice", "billing-partially-paid"], "partially_paid", "inv_1", active=True)
    assert await harness.snapshot() == partial
    await harness.deliver(paid("inv_1", "100000", payment_id="pay_b", hour=2))
    assert await harness.snapshot() == PAID


async def test_a_refund_is_refunded_not_paid(harness: Harness) -> None:
    for event in (customer(), issued("inv_1"), paid("inv_1", hour=1), refunded("inv_1", hour=2)):
        await harness.deliver(event)
    assert await harness.snapshot() == view(["billing-refunded"], "refunded", "", active=True)
    await harness.deliver(cancelled(hour=3))
    assert await harness.snapshot() == view(
        ["billing-cancelled", "billing-refunded"], "cancelled", "", active=False
    )


async def test_the_old_defects_tags_are_repaired_by_the_next_event(harness: Harness) -> None:
    await harness.deliver(customer())
    contact_id = (await harness.contacts())[0]["id"]
    async with httpx.AsyncClient(
        base_url=harness.url, auth=("local-mautic-user", "local-mautic-password")
    ) as api:
        response = await api.patch(
            f"/api/contacts/{contact_id}/edit", json={"tags": ["billing-paid", "billing-open-invoice", "vip"]}
        )
        response.raise_for_status()
    await harness.deliver(paid("inv_1"))
    assert await harness.snapshot() == {**PAID, "tags": ["billing-paid", "vip"]}


STORY: list[DomainEvent] = [issued("inv_1"), paid("inv_1", hour=1), issued("inv_2", hour=10)]


async def test_every_arrival_order_over_http_ends_in_one_state(harness: Harness) -> None:
    """customer.upserted and three billing events in all 24 orders, the first one redelivered at
    the end, one customer per order."""
    events: list[DomainEvent] = [customer(), *STORY]
    for n, order in enumerate(itertools.permutations(events)):
        customer_id = f"cus_p{n:02}"
        for event in (*order, order[0]):
            update: dict[str, Any] = {"customer_id": customer_id}
            if "email" in type(event).model_fields:
                update["email"] = f"p{n}@lovia.example"
            if "payer_email" in type(event).model_fields:
                update["payer_email"] = f"p{n}@lovia.example"
            await harness.deliver(event.model_copy(update=update))
        assert await harness.snapshot(customer_id) == view(
            [OPEN, "billing-paid"], "open_invoice", "inv_2", active=True
        ), order
    assert len(await harness.contacts()) == 24


async def test_a_mautic_without_our_custom_field_is_a_permanent_error(
    sandbox_url: Callable[..., str], tables: Topology
) -> None:
    url = sandbox_url("mautic", custom_fields=[])
    settings = MauticSyncSettings(
        billing_stage=tables.stage,
        mautic_base_url=url,
        mautic_username="local-mautic-user",
        mautic_password="local-mautic-password",
    )
    async with opened(settings) as app:
        with pytest.raises(PermanentError, match="no contact field 'billing_customer_id'"):
            await Harness(app, url).deliver(customer())
        with pytest.raises(PermanentError, match="no contact field 'billing_customer_id'"):
            await Harness(app, url).deliver(issued("inv_1"))
