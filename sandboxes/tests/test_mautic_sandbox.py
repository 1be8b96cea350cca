"""The Mautic sandbox over HTTP: auth, the upsert on e-mail, search/where, segments, error bodies."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

USER = ("local-mautic-user", "local-mautic-password")
CLIENT = {
    "grant_type": "client_credentials",
    "client_id": "local-mautic-client",
    "client_secret": "local-mautic-secret",
}


@pytest.fixture
def mautic(sandbox_url: Callable[..., str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_url("mautic"), auth=USER) as client:
        yield client


def make_sandbox(sandbox_url: Callable[..., str], **overrides: Any) -> httpx.Client:
    return httpx.Client(base_url=sandbox_url("mautic", **overrides))


def new(mautic: httpx.Client, **payload: Any) -> httpx.Response:
    return mautic.post("/api/contacts/new", json=payload)


def values(response: httpx.Response) -> dict[str, Any]:
    fields: dict[str, Any] = response.json()["contact"]["fields"]["all"]
    return fields


def tags(response: httpx.Response) -> list[str]:
    return [t["tag"] for t in response.json()["contact"]["tags"]]


# --- auth -------------------------------------------------------------------------------------


def test_basic_auth_accepts_the_user_and_rejects_a_wrong_password(mautic: httpx.Client) -> None:
    assert mautic.get("/api/contacts").status_code == 200
    denied = mautic.get("/api/contacts", auth=(USER[0], "wrong"))
    assert denied.status_code == 401
    assert denied.json() == {
        "errors": [
            {"message": "Authorization denied, invalid credentials.", "code": 401, "type": "access_denied"}
        ]
    }


def test_no_credentials_is_401_api_authorization_denied(sandbox_url: Callable[..., str]) -> None:
    with make_sandbox(sandbox_url) as client:
        response = client.get("/api/contacts/1")
    assert response.status_code == 401
    assert response.json()["errors"][0] == {
        "message": "API authorization denied.",
        "code": 401,
        "type": "access_denied",
    }


def test_basic_auth_disabled_and_api_disabled_are_403(sandbox_url: Callable[..., str]) -> None:
    with make_sandbox(sandbox_url, basic_auth_enabled=False) as client:
        response = client.get("/api/contacts", auth=USER)
    assert response.status_code == 403
    assert response.json()["errors"][0]["message"].startswith("Basic Auth disabled.")
    with make_sandbox(sandbox_url, api_enabled=False) as client:
        response = client.get("/api/contacts", auth=USER)
    assert response.status_code == 403
    assert response.json()["errors"][0]["type"] == "api_disabled"


def test_oauth2_client_credentials_token_is_a_bearer_until_it_expires(
    sandbox_url: Callable[..., str],
) -> None:
    with make_sandbox(sandbox_url) as client:
        issued = client.post("/oauth/v2/token", data=CLIENT)
        assert issued.status_code == 200
        token = issued.json()
        assert token["token_type"] == "bearer"
        assert token["expires_in"] == 3600
        assert "refresh_token" not in token
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        assert client.get("/api/contacts", headers=bearer).status_code == 200

        assert client.post("/_sandbox/tokens/expire").json() == {"expired": 1}
        expired = client.get("/api/contacts", headers=bearer)
        assert expired.status_code == 401
        assert expired.json()["errors"][0] == {
            "message": "The access token provided has expired.",
            "code": 401,
            "type": "invalid_grant",
        }
        invalid = client.get("/api/contacts", headers={"Authorization": "Bearer nope"})
        assert invalid.json()["errors"][0]["message"] == "The access token provided is invalid."


def test_oauth2_bad_client_secret_is_400_invalid_client(sandbox_url: Callable[..., str]) -> None:
    with make_sandbox(sandbox_url) as client:
        response = client.post("/oauth/v2/token", data={**CLIENT, "client_secret": "guess"})
    assert response.status_code == 400
    assert response.json() == {
        "errors": [{"message": "The client credentials are invalid", "code": 400, "type": "invalid_client"}]
    }


def test_every_api_response_carries_the_mautic_version_header(mautic: httpx.Client) -> None:
    assert mautic.get("/api/contacts").headers["Mautic-Version"] == "5.1.1"
    assert mautic.get("/api/contacts/99").headers["Mautic-Version"] == "5.1.1"


# --- contacts ---------------------------------------------------------------------------------


def test_new_is_an_upsert_on_email_201_then_200_with_the_same_id(mautic: httpx.Client) -> None:
    created = new(mautic, email="siti@example.com", firstname="Siti")
    assert created.status_code == 201
    contact_id = created.json()["contact"]["id"]
    assert created.headers["Location"] == f"/api/contacts/{contact_id}"

    matched = new(mautic, email="SITI@example.com", lastname="Aisyah")
    assert matched.status_code == 200
    assert matched.json()["contact"]["id"] == contact_id
    assert values(matched)["firstname"] == "Siti"
    assert values(matched)["lastname"] == "Aisyah"
    assert len(mautic.get("/_sandbox/state").json()["contacts"]) == 1


def test_blanks_are_skipped_unless_overwrite_with_blank(mautic: httpx.Client) -> None:
    new(mautic, email="a@example.com", company="Lovia", billing_plan="pro")
    kept = new(mautic, email="a@example.com", company="", billing_plan=None)
    assert values(kept)["company"] == "Lovia"
    assert values(kept)["billing_plan"] == "pro"
    cleared = new(mautic, email="a@example.com", company="", overwriteWithBlank=True)
    assert values(cleared)["company"] == ""
    assert values(cleared)["billing_plan"] == "pro"  # not sent, so kept


def test_unknown_fields_are_ignored(mautic: httpx.Client) -> None:
    response = new(mautic, email="a@example.com", no_such_field="x")
    assert response.status_code == 201
    assert "no_such_field" not in values(response)


def test_tags_are_added_and_minus_tag_removes(mautic: httpx.Client) -> None:
    new(mautic, email="a@example.com", tags=["one", "two"])
    response = new(mautic, email="a@example.com", tags="-one,three")
    assert tags(response) == ["two", "three"]
    assert all(isinstance(t["id"], int) for t in response.json()["contact"]["tags"])


def test_patch_edits_by_id_and_404s_a_missing_contact(mautic: httpx.Client) -> None:
    contact_id = new(mautic, email="a@example.com").json()["contact"]["id"]
    edited = mautic.patch(f"/api/contacts/{contact_id}/edit", json={"billing_status": "paid", "tags": ["x"]})
    assert edited.status_code == 200
    assert values(edited)["billing_status"] == "paid"
    assert tags(edited) == ["x"]
    missing = mautic.patch("/api/contacts/999/edit", json={"firstname": "x"})
    assert missing.status_code == 404
    assert missing.json() == {"errors": [{"code": 404, "message": "Item was not found.", "details": []}]}


def test_get_one_contact_and_404(mautic: httpx.Client) -> None:
    contact_id = new(mautic, email="a@example.com").json()["contact"]["id"]
    response = mautic.get(f"/api/contacts/{contact_id}")
    assert response.status_code == 200
    contact = response.json()["contact"]
    assert contact["fields"]["all"]["email"] == "a@example.com"
    assert contact["fields"]["social"]["twitter"]["alias"] == "twitter"
    assert contact["fields"]["personal"] == []  # an empty group is an array
    assert mautic.get("/api/contacts/424242").status_code == 404


def test_invalid_email_is_400_with_mautics_form_error(mautic: httpx.Client) -> None:
    response = new(mautic, email="te,st@user..email")
    assert response.status_code == 400
    assert response.json() == {
        "errors": [
            {
                "code": 400,
                "message": "email: te,st@user..email is invalid.",
                "details": {"email": ["te,st@user..email is invalid."]},
            }
        ]
    }
    forbidden = new(mautic, email="a%b@example.com")
    assert forbidden.json()["errors"][0]["message"] == (
        "email: a%b@example.com has characters not allowed in email addresses."
    )
    assert mautic.get("/_sandbox/state").json()["contacts"] == {}


def test_search_email_is_a_prefix_and_plus_is_strict(mautic: httpx.Client) -> None:
    new(mautic, email="ann@example.com")
    new(mautic, email="ann@example.com.au")
    prefix = mautic.get("/api/contacts", params={"search": "email:ann@example.com"}).json()
    assert prefix["total"] == "2"
    strict = mautic.get("/api/contacts", params={"search": "email:+ann@example.com"}).json()
    assert strict["total"] == "1"
    assert [c["fields"]["all"]["email"] for c in strict["contacts"].values()] == ["ann@example.com"]


def test_where_eq_is_exact_and_lists_are_keyed_by_id(mautic: httpx.Client) -> None:
    first = new(mautic, email="a@example.com", billing_customer_id="cus_1").json()["contact"]["id"]
    new(mautic, email="b@example.com", billing_customer_id="cus_10")
    params = {"where[0][col]": "billing_customer_id", "where[0][expr]": "eq", "where[0][val]": "cus_1"}
    body = mautic.get("/api/contacts", params=params).json()
    assert body["total"] == "1"
    assert list(body["contacts"]) == [str(first)]


def test_an_empty_list_is_a_json_object(mautic: httpx.Client) -> None:
    response = mautic.get("/api/contacts", params={"search": "email:nobody"})
    assert response.text.replace(" ", "") == '{"total":"0","contacts":{}}'


# --- segments ---------------------------------------------------------------------------------


def test_segment_add_and_remove_answer_success_1(mautic: httpx.Client) -> None:
    contact_id = new(mautic, email="a@example.com").json()["contact"]["id"]
    for _ in range(2):  # adding a member again is no error
        added = mautic.post(f"/api/segments/1/contact/{contact_id}/add")
        assert added.json() == {"success": 1}
    assert mautic.get("/_sandbox/state").json()["segments"]["1"]["members"] == [contact_id]
    assert mautic.get(f"/api/contacts/{contact_id}/segments").json()["total"] == 1
    assert mautic.post(f"/api/segments/1/contact/{contact_id}/remove").json() == {"success": 1}
    assert mautic.get("/_sandbox/state").json()["segments"]["1"]["members"] == []


def test_segment_404s_name_the_missing_thing(mautic: httpx.Client) -> None:
    contact_id = new(mautic, email="a@example.com").json()["contact"]["id"]
    unknown_segment = mautic.post(f"/api/segments/77/contact/{contact_id}/add")
    assert unknown_segment.status_code == 404
    assert unknown_segment.json()["errors"][0]["message"] == "Item was not found."
    unknown_contact = mautic.post("/api/segments/1/contact/999/add")
    assert unknown_contact.status_code == 404
    assert unknown_contact.json()["errors"][0]["message"] == "Contact not found."


# --- side door --------------------------------------------------------------------------------


def test_injected_429_has_mautics_rate_limit_body_and_reset_timestamp(mautic: httpx.Client) -> None:
    mautic.post("/_sandbox/faults", json={"kind": "rate_limit", "path": "/api/contacts", "retry_after": 7})
    before = int(time.time())
    response = mautic.get("/api/contacts")
    assert response.status_code == 429
    # noxlogic's bundle: the Unix time the window ends, and no Retry-After.
    assert before + 7 <= int(response.headers["X-RateLimit-Reset"]) <= int(time.time()) + 7
    assert (response.headers["X-RateLimit-Limit"], response.headers["X-RateLimit-Remaining"]) == ("1000", "0")
    assert "Retry-After" not in response.headers
    assert response.json() == {
        "errors": [
            {"code": 429, "message": "You exceeded the rate limit of 1000 API calls per hour.", "details": []}
        ]
    }


def test_reset_forgets_contacts_tokens_and_faults(mautic: httpx.Client) -> None:
    new(mautic, email="a@example.com")
    mautic.post("/oauth/v2/token", data=CLIENT)
    mautic.post("/_sandbox/faults", json={"kind": "status", "status": 503})
    assert mautic.post("/_sandbox/reset").status_code == 200
    state = mautic.get("/_sandbox/state").json()
    assert state["contacts"] == {}
    assert state["tokens"] == 0
    assert mautic.get("/_sandbox/faults").json() == []
    assert mautic.get("/api/contacts").status_code == 200


def test_state_records_each_api_request_without_credentials(mautic: httpx.Client) -> None:
    mautic.get("/api/contacts")
    requests = mautic.get("/_sandbox/state").json()["requests"]
    assert requests == [{"method": "GET", "path": "/api/contacts", "auth": "basic", "denied": None}]
