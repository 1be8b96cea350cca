"""``MauticClient`` against the Mautic sandbox over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from lovia_billing import DownstreamTimeout, DownstreamUnavailable, PermanentError, RateLimited
from lovia_billing.clients.mautic import (
    BasicAuth,
    ClientCredentials,
    MauticClient,
    Where,
    email_problem,
)

OAUTH = ClientCredentials("local-mautic-client", "local-mautic-secret")
BASIC = BasicAuth("local-mautic-user", "local-mautic-password")


@pytest.fixture
def url(sandbox_url: Callable[..., str]) -> str:
    return sandbox_url("mautic")


@pytest.fixture
async def mautic(url: str) -> AsyncIterator[MauticClient]:
    async with MauticClient(url, OAUTH) as client:
        yield client


async def state(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url) as side_door:
        body: dict[str, Any] = (await side_door.get("/_sandbox/state")).json()
        return body


async def side_door(url: str, route: str, **body: Any) -> None:
    async with httpx.AsyncClient(base_url=url) as client:
        (await client.post(route, json=body)).raise_for_status()


async def requests(url: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = (await state(url))["requests"]
    return seen


async def test_oauth_token_is_fetched_once_and_reused(mautic: MauticClient, url: str) -> None:
    await mautic.upsert_contact({"email": "a@example.com"})
    await mautic.find_contacts_by_field("email", "a@example.com")
    assert (await state(url))["tokens"] == 1
    assert [r["auth"] for r in (await requests(url))] == ["bearer", "bearer"]


async def test_expired_token_is_refreshed_and_the_call_retried_once(mautic: MauticClient, url: str) -> None:
    await mautic.upsert_contact({"email": "a@example.com"})
    await side_door(url, "/_sandbox/tokens/expire")
    result = await mautic.upsert_contact({"email": "a@example.com", "firstname": "Ann"})
    assert result.contact.value("firstname") == "Ann"
    assert (await state(url))["tokens"] == 2
    assert [r["denied"] for r in (await requests(url))] == [None, 401, None]


async def test_basic_auth_works_without_a_token(url: str) -> None:
    async with MauticClient(url, BASIC) as client:
        result = await client.upsert_contact({"email": "a@example.com"})
    assert result.created
    assert (await state(url))["tokens"] == 0


async def test_bad_client_secret_is_permanent_with_mautics_message(url: str) -> None:
    async with MauticClient(url, ClientCredentials("local-mautic-client", "wrong")) as client:
        with pytest.raises(PermanentError, match="The client credentials are invalid"):
            await client.get_contact(1)


async def test_secrets_stay_out_of_repr() -> None:
    assert "local-mautic-secret" not in repr(OAUTH)
    assert "local-mautic-password" not in repr(BASIC)


async def test_upsert_reports_created_then_matched_with_one_id(mautic: MauticClient) -> None:
    first = await mautic.upsert_contact({"email": "a@example.com"}, tags=["x"])
    again = await mautic.upsert_contact({"email": "a@example.com"}, tags=["-x", "y"])
    assert (first.created, again.created) == (True, False)
    assert first.contact.id == again.contact.id
    assert again.contact.tags == {"y"}


async def test_edit_get_find_and_segments(mautic: MauticClient, url: str) -> None:
    created = await mautic.upsert_contact({"email": "a@example.com", "billing_customer_id": "cus_1"})
    contact = created.contact
    edited = await mautic.edit_contact(contact.id, {"billing_plan": "pro"}, tags=["t"])
    assert edited.value("billing_plan") == "pro"
    fetched = await mautic.get_contact(contact.id)
    assert fetched is not None
    assert fetched.tags == {"t"}
    assert await mautic.get_contact(9999) is None
    assert [c.id for c in await mautic.find_contacts_by_field("billing_customer_id", "cus_1")] == [contact.id]
    assert await mautic.find_contacts(where=[Where("billing_customer_id", "cus_")]) == []
    await mautic.add_to_segment(1, contact.id)
    assert (await state(url))["segments"]["1"]["members"] == [contact.id]
    await mautic.remove_from_segment(1, contact.id)
    assert (await state(url))["segments"]["1"]["members"] == []


async def test_missing_contact_or_segment_is_permanent(mautic: MauticClient) -> None:
    with pytest.raises(PermanentError, match="Item was not found"):
        await mautic.edit_contact(424242, {"firstname": "x"})
    with pytest.raises(PermanentError, match="Contact not found"):
        await mautic.add_to_segment(1, 424242)


async def test_invalid_email_is_permanent_with_mautics_message(mautic: MauticClient) -> None:
    with pytest.raises(PermanentError, match=r"email: te,st@user\.\.email is invalid\."):
        await mautic.upsert_contact({"email": "te,st@user..email"})


async def test_429_waits_until_the_reset_timestamp(mautic: MauticClient, url: str) -> None:
    # The sandbox's 429, like Mautic's, says X-RateLimit-Reset: <Unix time of the window's end>.
    await side_door(url, "/_sandbox/faults", kind="rate_limit", retry_after=42, count=1)
    with pytest.raises(RateLimited, match="rate limit of 1000 API calls") as caught:
        await mautic.find_contacts()
    assert caught.value.retry_after is not None
    assert 40 < caught.value.retry_after <= 42  # seconds from now, not 1.7 billion


async def test_5xx_is_retryable(mautic: MauticClient, url: str) -> None:
    await side_door(url, "/_sandbox/faults", kind="status", status=503, count=1)
    with pytest.raises(DownstreamUnavailable):
        await mautic.find_contacts()


async def test_timeout_is_retryable(url: str) -> None:
    await side_door(url, "/_sandbox/faults", kind="timeout", path="/api", hang_ms=1000)
    async with MauticClient(url, BASIC, timeout=0.2) as client:
        with pytest.raises(DownstreamTimeout):
            await client.find_contacts()


@pytest.mark.parametrize(
    ("address", "fragment"),
    [
        ("te,st@user..email", "before '@'"),
        ("a@b", "domain"),
        ("a@@example.com", "exactly one"),
        ("a%b@example.com", "forbids"),
        ("", "empty"),
    ],
)
def test_email_problem_names_the_reason(address: str, fragment: str) -> None:
    problem = email_problem(address)
    assert problem is not None
    assert fragment in problem


def test_email_problem_accepts_ordinary_addresses() -> None:
    assert email_problem("siti.aisyah+billing@lovia.co.id") is None
