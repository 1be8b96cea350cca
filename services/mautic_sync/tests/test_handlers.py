"""mautic_sync's handlers against the Mautic sandbox, called as the runtime calls them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from mautic_events import CUSTOMER, cancelled, customer, expired, issued, paid

from billing_testing.context import RecordingContext
from lovia_billing import DomainEvent, Integration, PermanentError, RateLimited, RetryableError
from lovia_billing.consumer import IntegrationApp
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

    async def snapshot(self) -> dict[str, Any]:
        """The one contact's billing view: tags, our fields, active-segment membership."""
        state = await self.side_door("GET", "/_sandbox/state")
        (contact,) = state["contacts"].values()
        fields = contact["fields"]["all"]
        return {
            "tags": sorted(t["tag"] for t in contact["tags"]),
            "status": fields["billing_status"],
            "open": fields["billing_open_invoices"],
            "active": contact["id"] in state["segments"]["1"]["members"],
        }

    async def writes(self) -> list[str]:
        state = await self.side_door("GET", "/_sandbox/state")
        return [f"{r['method']} {r['path']}" for r in state["requests"] if r["method"] != "GET"]


def view(tags: list[str], status: str | None, open_ids: str | None, *, active: bool) -> dict[str, Any]:
    return {"tags": tags, "status": status, "open": open_ids, "active": active}


OPEN = "billing-open-invoice"
PAID = view(["billing-paid"], "paid", "", active=True)


@pytest.fixture
async def harness(sandbox_url: Callable[..., str]) -> AsyncIterator[Harness]:
    url = sandbox_url("mautic")
    settings = MauticSyncSettings(
        mautic_base_url=url,
        mautic_client_id="local-mautic-client",
        mautic_client_secret="local-mautic-secret",
    )
    app = build(settings)
    async with AsyncExitStack() as stack:
        for resource in app.resources:
            await stack.enter_async_context(resource)
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
        (customer(), view([], None, None, active=False)),
        (issued("inv_1"), view(["billing-open-invoice"], "open_invoice", "inv_1", active=False)),
        (paid("inv_1"), view(["billing-paid"], "paid", "", active=True)),
        (
            issued("inv_2"),
            view(["billing-open-invoice", "billing-paid"], "open_invoice", "inv_2", active=True),
        ),
        (expired("inv_2"), view(["billing-payment-failed"], "payment_failed", "", active=True)),
        (cancelled(), view(["billing-cancelled", "billing-payment-failed"], "cancelled", "", active=False)),
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


async def test_billing_event_before_its_customer_is_retried(harness: Harness) -> None:
    with pytest.raises(RetryableError, match="no Mautic contact with billing_customer_id=cus_0001"):
        await harness.deliver(issued("inv_1"))
    assert await harness.contacts() == []
    await harness.deliver(customer())
    await harness.deliver(issued("inv_1"))
    assert (await harness.snapshot())["tags"] == ["billing-open-invoice"]


async def test_a_mautic_without_our_custom_field_is_a_permanent_error(
    sandbox_url: Callable[..., str],
) -> None:
    url = sandbox_url("mautic", custom_fields=[])
    settings = MauticSyncSettings(
        mautic_base_url=url, mautic_username="local-mautic-user", mautic_password="local-mautic-password"
    )
    app = build(settings)
    async with app.resources[0]:
        with pytest.raises(PermanentError, match="no contact field 'billing_customer_id'"):
            await Harness(app, url).deliver(customer())
