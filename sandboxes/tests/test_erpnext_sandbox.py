"""The ERPNext sandbox over HTTP: auth, envelopes, naming, unique fields, docstatus, payment rules."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

KEY, SECRET = "local-erpnext-key", "local-erpnext-secret"
TOKEN = {"Authorization": f"token {KEY}:{SECRET}"}
SI, PE = "/api/resource/Sales%20Invoice", "/api/resource/Payment%20Entry"


@pytest.fixture
def base(sandbox_url: Callable[..., str]) -> str:
    return sandbox_url("erpnext")


@pytest.fixture
def api(base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, headers=TOKEN) as client:
        yield client


def messages(response: httpx.Response) -> list[str]:
    """``_server_messages`` decoded twice, as a client must."""
    return [json.loads(item)["message"] for item in json.loads(response.json()["_server_messages"])]


def customer(api: httpx.Client, name: str = "Acme", customer_id: str = "cus_1") -> dict[str, Any]:
    response = api.post(
        "/api/resource/Customer", json={"customer_name": name, "custom_lovia_customer_id": customer_id}
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def invoice(
    api: httpx.Client, customer_name: str, *, docstatus: int = 1, rate: str = "150000", **extra: Any
) -> dict[str, Any]:
    body = {
        "customer": customer_name,
        "items": [{"item_code": "PLAN-PRO", "qty": 1, "rate": rate}],
        "docstatus": docstatus,
        "disable_rounded_total": 1,
        **extra,
    }
    response = api.post(SI, json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def payment(customer_name: str, invoice_name: str, amount: str, **extra: Any) -> dict[str, Any]:
    return {
        "payment_type": "Receive",
        "party_type": "Customer",
        "party": customer_name,
        "paid_to": "Xendit - LV",
        "paid_amount": amount,
        "reference_no": "pay_1",
        "reference_date": "2025-01-06",
        "references": [
            {"reference_doctype": "Sales Invoice", "reference_name": invoice_name, "allocated_amount": amount}
        ],
        "docstatus": 1,
        **extra,
    }


# ---------------------------------------------------------------- auth
def test_token_and_basic_auth_are_accepted(base: str) -> None:
    basic = base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
    for header in (f"token {KEY}:{SECRET}", f"Basic {basic}", f"TOKEN {KEY}:{SECRET}"):
        response = httpx.get(f"{base}/api/resource/Customer", headers={"Authorization": header})
        assert response.status_code == 200
        assert response.json() == {"data": []}


def test_wrong_credentials_answer_401_and_none_403(base: str) -> None:
    wrong = httpx.get(f"{base}/api/resource/Customer", headers={"Authorization": f"token {KEY}:nope"})
    assert wrong.status_code == 401
    assert wrong.json()["exc_type"] == "AuthenticationError"
    assert "_server_messages" not in wrong.json()
    guest = httpx.get(f"{base}/api/resource/Customer")
    assert guest.status_code == 403
    assert guest.json()["exc_type"] == "PermissionError"
    assert guest.json()["_error_message"] == "No permission for Customer"
    bad_basic = httpx.get(f"{base}/api/resource/Customer", headers={"Authorization": "Basic %%%"})
    assert bad_basic.status_code == 400


# ---------------------------------------------------------------- envelope, routes, lists
def test_unknown_document_is_404_without_traceback(api: httpx.Client) -> None:
    response = api.get("/api/resource/Customer/Nobody")
    assert response.status_code == 404
    body = response.json()
    assert body["exc_type"] == "DoesNotExistError"
    assert "exception" not in body
    assert "exc" not in body
    assert messages(response) == ["Customer Nobody not found"]
    assert api.get("/api/no/such/route").json()["exc_type"] == "DoesNotExistError"


def test_list_honours_filters_fields_order_and_paging(api: httpx.Client) -> None:
    for number in range(25):
        customer(api, f"C{number:02d}", f"cus_{number:02d}")
    default = api.get("/api/resource/Customer").json()["data"]
    assert len(default) == 20
    assert set(default[0]) == {"name"}
    everything = api.get("/api/resource/Customer", params={"limit_page_length": 0}).json()["data"]
    assert len(everything) == 25
    rows = api.get(
        "/api/resource/Customer",
        params={
            "filters": json.dumps({"customer_name": ["like", "C1%"]}),
            "fields": json.dumps(["name", "custom_lovia_customer_id", "email_id"]),
            "order_by": "name desc",
            "limit_page_length": 3,
            "limit_start": 1,
        },
    ).json()["data"]
    assert [row["name"] for row in rows] == ["C18", "C17", "C16"]
    assert rows[0] == {"name": "C18", "custom_lovia_customer_id": "cus_18", "email_id": None}
    listed = api.get(
        "/api/resource/Customer", params={"filters": json.dumps([["name", "in", ["C01", "C02"]]])}
    )
    assert sorted(row["name"] for row in listed.json()["data"]) == ["C01", "C02"]


def test_a_filter_on_a_missing_custom_field_fails_like_the_database(api: httpx.Client) -> None:
    response = api.get("/api/resource/Customer", params={"filters": json.dumps([["custom_nope", "=", "x"]])})
    assert response.status_code == 500
    assert "Unknown column" in response.json()["exception"]


# ---------------------------------------------------------------- naming and unique fields
def test_same_customer_name_is_renamed_not_refused(api: httpx.Client) -> None:
    first = customer(api, "Acme", "cus_1")
    response = api.post(
        "/api/resource/Customer", json={"customer_name": "Acme", "custom_lovia_customer_id": "cus_2"}
    )
    assert response.status_code == 200
    assert first["name"] == "Acme"
    assert response.json()["data"]["name"] == "Acme - 1"
    assert messages(response) == ["Changed customer name to 'Acme - 1' as 'Acme' already exists."]
    assert customer(api, "Acme", "cus_3")["name"] == "Acme - 2"


def test_a_unique_custom_field_answers_417(api: httpx.Client) -> None:
    customer(api, "Acme", "cus_1")
    response = api.post(
        "/api/resource/Customer", json={"customer_name": "Other", "custom_lovia_customer_id": "cus_1"}
    )
    assert response.status_code == 417
    assert response.json()["exc_type"] == "UniqueValidationError"
    assert messages(response) == ["Lovia Customer ID must be unique"]
    names = [row["name"] for row in api.get("/api/resource/Customer").json()["data"]]
    assert names == ["Acme"]


def test_invoices_are_named_from_their_series(api: httpx.Client) -> None:
    customer(api)
    first, second = invoice(api, "Acme"), invoice(api, "Acme")
    assert first["name"].startswith("ACC-SINV-")
    assert first["name"].endswith("-00001")
    assert second["name"].endswith("-00002")


# ---------------------------------------------------------------- link and mandatory errors
def test_an_unknown_item_is_a_link_validation_error(api: httpx.Client) -> None:
    customer(api)
    body = {"customer": "Acme", "items": [{"item_code": "NOPE", "qty": 1, "rate": 1}]}
    response = api.post(SI, json=body)
    assert response.status_code == 417
    assert response.json()["exc_type"] == "LinkValidationError"
    assert messages(response) == ["Could not find Row #1: Item Code: NOPE"]


def test_missing_mandatory_fields_are_listed(api: httpx.Client) -> None:
    response = api.post(SI, json={"customer": ""})
    assert response.status_code == 417
    assert response.json()["exc_type"] == "MandatoryError"
    assert "Error: Value missing for Sales Invoice: Items" in messages(response)


# ---------------------------------------------------------------- dates and docstatus
def test_posting_date_is_today_unless_set_posting_time(api: httpx.Client) -> None:
    customer(api)
    ignored = invoice(api, "Acme", posting_date="2020-01-01")
    kept = invoice(api, "Acme", posting_date="2020-01-01", due_date="2020-01-31", set_posting_time=1)
    assert ignored["posting_date"] != "2020-01-01"
    assert kept["posting_date"] == "2020-01-01"
    assert kept["status"] == "Overdue"
    refused = api.post(
        SI,
        json={
            "customer": "Acme",
            "items": [{"item_code": "PLAN-PRO", "qty": 1, "rate": 1}],
            "set_posting_time": 1,
            "posting_date": "2020-02-01",
            "due_date": "2020-01-01",
        },
    )
    assert refused.status_code == 417


def test_insert_with_docstatus_1_submits_and_submitted_cannot_be_edited(api: httpx.Client) -> None:
    customer(api)
    submitted = invoice(api, "Acme")
    assert submitted["docstatus"] == 1
    assert submitted["status"] == "Unpaid"
    assert submitted["outstanding_amount"] == 150000
    edit = api.put(f"{SI}/{submitted['name']}", json={"customer": "Other"})
    assert edit.status_code == 417
    assert edit.json()["exc_type"] == "UpdateAfterSubmitError"
    back = api.put(f"{SI}/{submitted['name']}", json={"docstatus": 0})
    assert back.json()["exc_type"] == "DocstatusTransitionError"
    assert messages(back) == ["Cannot change docstatus from 1 (Submitted) to 0 (Draft)"]
    delete = api.delete(f"{SI}/{submitted['name']}")
    assert delete.status_code == 417


def test_a_draft_is_submitted_by_put_or_run_method(api: httpx.Client) -> None:
    customer(api)
    first, second = invoice(api, "Acme", docstatus=0), invoice(api, "Acme", docstatus=0)
    assert first["status"] == "Draft"
    assert api.put(f"{SI}/{first['name']}", json={"docstatus": 1}).json()["data"]["docstatus"] == 1
    ran = api.post(f"{SI}/{second['name']}", json={"run_method": "submit"})
    assert ran.json()["data"]["status"] == "Unpaid"
    stale = api.post(
        "/api/method/frappe.client.submit",
        json={"doc": {"doctype": "Sales Invoice", "name": invoice(api, "Acme", docstatus=0)["name"]}},
    )
    assert stale.json()["exc_type"] == "TimestampMismatchError"


def test_a_draft_can_be_deleted_and_a_cancelled_document_not_edited(api: httpx.Client) -> None:
    customer(api)
    draft = invoice(api, "Acme", docstatus=0)
    deleted = api.delete(f"{SI}/{draft['name']}")
    assert deleted.status_code == 202
    assert deleted.json() == {"data": "ok"}
    submitted = invoice(api, "Acme")
    cancelled = api.put(f"{SI}/{submitted['name']}", json={"docstatus": 2})
    assert cancelled.json()["data"]["status"] == "Cancelled"
    again = api.put(f"{SI}/{submitted['name']}", json={"remarks": "x"})
    assert messages(again) == ["Cannot edit cancelled document"]


# ---------------------------------------------------------------- payment entries
def test_payments_move_outstanding_and_status(api: httpx.Client) -> None:
    customer(api)
    sinv = invoice(api, "Acme")
    part = api.post(PE, json=payment("Acme", sinv["name"], "50000"))
    assert part.status_code == 200, part.text
    assert part.json()["data"]["status"] == "Submitted"
    assert api.get(f"{SI}/{sinv['name']}").json()["data"]["status"] == "Partly Paid"
    rest = api.post(PE, json=payment("Acme", sinv["name"], "100000"))
    assert rest.status_code == 200
    paid = api.get(f"{SI}/{sinv['name']}").json()["data"]
    assert (paid["status"], paid["outstanding_amount"]) == ("Paid", 0)
    cancel = api.put(f"{PE}/{rest.json()['data']['name']}", json={"docstatus": 2})
    assert cancel.status_code == 200
    assert api.get(f"{SI}/{sinv['name']}").json()["data"]["outstanding_amount"] == 100000


def test_payment_references_are_validated(api: httpx.Client) -> None:
    customer(api, "Acme", "cus_1")
    customer(api, "Other", "cus_2")
    draft = invoice(api, "Acme", docstatus=0)
    sinv = invoice(api, "Acme")
    cases = {
        "draft": (payment("Acme", draft["name"], "1"), f"Sales Invoice {draft['name']} must be submitted"),
        "party": (
            payment("Other", sinv["name"], "1"),
            f"Sales Invoice {sinv['name']} is not associated with Customer Other",
        ),
        "over": (
            payment("Acme", sinv["name"], "150001"),
            "Row #1: Allocated Amount cannot be greater than outstanding amount.",
        ),
        "bank": (
            {**payment("Acme", sinv["name"], "1"), "reference_no": ""},
            "Reference No and Reference Date is mandatory for Bank transaction",
        ),
        "difference": (
            {**payment("Acme", sinv["name"], "100"), "paid_amount": "90"},
            "Difference Amount must be zero",
        ),
    }
    for case, (body, text) in cases.items():
        response = api.post(PE, json=body)
        assert response.status_code == 417, case
        assert messages(response) == [text], case
    assert api.get(PE).json()["data"] == []


def test_fees_as_deduction_and_overpayment_unallocated(api: httpx.Client) -> None:
    customer(api)
    sinv = invoice(api, "Acme", rate="100")
    body = payment("Acme", sinv["name"], "95")
    body["references"][0]["allocated_amount"] = "100"
    body["deductions"] = [{"account": "Payment Gateway Fees - LV", "cost_center": "Main - LV", "amount": "5"}]
    entry = api.post(PE, json=body)
    assert entry.status_code == 200, entry.text
    assert entry.json()["data"]["difference_amount"] == 0
    advance = {**payment("Acme", sinv["name"], "40"), "references": []}
    extra = api.post(PE, json=advance).json()["data"]
    assert extra["unallocated_amount"] == 40


# ---------------------------------------------------------------- credit notes and paying them out
def credit_note(
    api: httpx.Client, original: dict[str, Any], *, rate: str = "150000", **extra: Any
) -> httpx.Response:
    """A return of one PLAN-PRO unit of ``original`` (its row named) at ``rate``."""
    row = {
        "item_code": "PLAN-PRO",
        "qty": -1,
        "rate": rate,
        "sales_invoice_item": original["items"][0]["name"],
    }
    body = {
        "customer": original["customer"],
        "is_return": 1,
        "return_against": original["name"],
        "items": [row],
        "docstatus": 1,
        "disable_rounded_total": 1,
        **extra,
    }
    return api.post(SI, json=body)


def pay_out(customer_name: str, note_name: str, amount: str, **extra: Any) -> dict[str, Any]:
    """A Pay entry from the Xendit bank account to the customer, allocated against a credit note."""
    return {
        **payment(customer_name, note_name, amount),
        "payment_type": "Pay",
        "paid_from": "Xendit - LV",
        "paid_to": "Debtors - LV",
        "reference_no": "rfd_1",
        "references": [
            {
                "reference_doctype": "Sales Invoice",
                "reference_name": note_name,
                "allocated_amount": f"-{amount}",
            }
        ],
        **extra,
    }


def test_a_credit_note_keeps_its_own_outstanding_until_a_pay_entry_settles_it(api: httpx.Client) -> None:
    customer(api)
    sinv = invoice(api, "Acme")
    assert api.post(PE, json=payment("Acme", sinv["name"], "150000")).status_code == 200
    response = credit_note(api, sinv, rate="40000")
    assert response.status_code == 200, response.text
    note = response.json()["data"]
    assert (note["is_return"], note["update_outstanding_for_self"], note["grand_total"]) == (1, 1, -40000)
    assert (note["outstanding_amount"], note["status"]) == (-40000, "Return")
    original = api.get(f"{SI}/{sinv['name']}").json()["data"]
    assert (original["outstanding_amount"], original["status"]) == (0, "Credit Note Issued")
    paid = api.post(PE, json=pay_out("Acme", note["name"], "40000"))
    assert paid.status_code == 200, paid.text
    entry = paid.json()["data"]
    assert (entry["total_allocated_amount"], entry["unallocated_amount"], entry["difference_amount"]) == (
        40000,
        0,
        0,
    )
    settled = api.get(f"{SI}/{note['name']}").json()["data"]
    assert (settled["outstanding_amount"], settled["status"]) == (0, "Return")
    linked = api.put(f"{SI}/{sinv['name']}", json={"docstatus": 2})
    assert (linked.status_code, linked.json()["exc_type"]) == (417, "LinkExistsError")
    assert api.put(f"{PE}/{entry['name']}", json={"docstatus": 2}).status_code == 200
    assert api.get(f"{SI}/{note['name']}").json()["data"]["outstanding_amount"] == -40000


def test_a_credit_note_can_instead_reduce_its_invoice(api: httpx.Client) -> None:
    customer(api)
    sinv = invoice(api, "Acme")
    note = credit_note(api, sinv, rate="50000", update_outstanding_for_self=0).json()["data"]
    assert (note["outstanding_amount"], note["status"]) == (0, "Return")
    original = api.get(f"{SI}/{sinv['name']}").json()["data"]
    assert (original["outstanding_amount"], original["status"]) == (100000, "Partly Paid")
    assert api.put(f"{SI}/{note['name']}", json={"docstatus": 2}).status_code == 200
    original = api.get(f"{SI}/{sinv['name']}").json()["data"]
    assert (original["outstanding_amount"], original["status"]) == (150000, "Unpaid")


def test_credit_notes_are_checked_against_the_invoice_they_return(api: httpx.Client) -> None:
    customer(api, "Acme", "cus_1")
    customer(api, "Other", "cus_2")
    sinv = invoice(
        api,
        "Acme",
        posting_date="2025-11-01",
        posting_time="01:30:00",
        due_date="2099-01-01",
        set_posting_time=1,
    )
    draft = invoice(api, "Acme", docstatus=0)
    other_row = {"item_code": "PLAN-STARTER", "qty": -1, "rate": "1"}
    cases = {
        "draft": (
            credit_note(api, {**draft, "items": [{"name": "x"}]}),
            f"Invalid Return Against: {draft['name']}",
        ),
        "party": (credit_note(api, {**sinv, "customer": "Other"}), f"Invalid Return Against: {sinv['name']}"),
        "positive": (
            credit_note(api, sinv, items=[{"item_code": "PLAN-PRO", "qty": 1, "rate": "1"}]),
            "Atleast one item should be entered with negative quantity in return document",
        ),
        "item": (
            credit_note(api, sinv, items=[other_row]),
            f"Row # 1: Returned Item PLAN-STARTER does not exist in Sales Invoice {sinv['name']}",
        ),
        "qty": (
            credit_note(api, sinv, items=[{"item_code": "PLAN-PRO", "qty": -2, "rate": "1"}]),
            "Row # 1: Cannot return more than 1.0 for Item PLAN-PRO",
        ),
        "rate": (
            credit_note(api, sinv, rate="150001"),
            f"Row # 1: Rate cannot be greater than the rate used in Sales Invoice {sinv['name']}",
        ),
        "early": (
            credit_note(api, sinv, set_posting_time=1, posting_date="2025-11-01", posting_time="01:29:59"),
            "Posting timestamp must be after 01-11-2025 01:30:00",
        ),
    }
    for case, (response, text) in cases.items():
        assert response.status_code == 417, case
        assert messages(response) == [text], case
    unknown = credit_note(api, {**sinv, "name": "ACC-SINV-NOPE"})
    assert (unknown.json()["exc_type"], messages(unknown)) == (
        "LinkValidationError",
        ["Could not find Return Against: ACC-SINV-NOPE"],
    )
    first = credit_note(api, sinv, rate="100000", custom_xendit_refund_id="rfd_1")
    assert first.status_code == 200, first.text
    again = credit_note(api, sinv, rate="100", custom_xendit_refund_id="rfd_2")
    assert (again.json()["exc_type"], messages(again)) == (
        "StockOverReturnError",
        ["Item PLAN-PRO has already been returned"],
    )
    standalone = credit_note(api, sinv, return_against=None, custom_xendit_refund_id="rfd_1")
    assert (standalone.json()["exc_type"], messages(standalone)) == (
        "UniqueValidationError",
        ["Xendit Refund ID must be unique"],
    )
    assert [n["name"] for n in api.get(SI, params={"filters": '[["is_return", "=", 1]]'}).json()["data"]] == [
        first.json()["data"]["name"]
    ]


def test_pay_entries_to_a_customer_are_validated(api: httpx.Client) -> None:
    customer(api)
    paid = invoice(api, "Acme")
    assert api.post(PE, json=payment("Acme", paid["name"], "150000")).status_code == 200
    note = credit_note(api, paid, rate="40000").json()["data"]
    receive = {**payment("Acme", note["name"], "40000")}
    receive["references"][0]["allocated_amount"] = "-40000"
    cases = {
        "receive": (receive, "Cannot receive from customer against negative outstanding"),
        "over": (
            pay_out("Acme", note["name"], "40001"),
            "Row #1: Allocated Amount cannot be greater than outstanding amount.",
        ),
        "bank": (
            pay_out("Acme", note["name"], "40000", reference_no=""),
            "Reference No and Reference Date is mandatory for Bank transaction",
        ),
        "settled": (
            {**pay_out("Acme", paid["name"], "1")},
            f"Sales Invoice {paid['name']} has already been fully paid.",
        ),
        "account": (
            pay_out("Acme", note["name"], "40000", paid_from="Sales - LV"),
            "Account Type for Sales - LV must be 'Bank' or 'Cash'",
        ),
    }
    for case, (body, text) in cases.items():
        response = api.post(PE, json=body)
        assert response.status_code == 417, case
        assert messages(response) == [text], case
    assert [e["payment_type"] for e in api.get(PE, params={"fields": '["payment_type"]'}).json()["data"]] == [
        "Receive"
    ]


def test_a_customer_with_invoices_cannot_be_deleted(api: httpx.Client) -> None:
    customer(api)
    invoice(api, "Acme")
    response = api.delete("/api/resource/Customer/Acme")
    assert response.json()["exc_type"] == "LinkExistsError"


# ---------------------------------------------------------------- custom fields and the side door
def test_custom_fields_are_created_and_unknown_ones_dropped(sandbox_url: Callable[..., str]) -> None:
    with httpx.Client(base_url=sandbox_url("erpnext", seed_custom_fields=False), headers=TOKEN) as api:
        dropped = api.post(
            "/api/resource/Customer", json={"customer_name": "A", "custom_lovia_customer_id": "x"}
        )
        assert "custom_lovia_customer_id" not in dropped.json()["data"]
        field = api.post(
            "/api/resource/Custom Field",
            json={"dt": "Customer", "label": "Lovia Customer ID", "fieldtype": "Data", "unique": 1},
        )
        assert field.json()["data"]["name"] == "Customer-custom_lovia_customer_id"
        kept = api.post(
            "/api/resource/Customer", json={"customer_name": "B", "custom_lovia_customer_id": "x"}
        )
        assert kept.json()["data"]["custom_lovia_customer_id"] == "x"


def test_state_reset_and_injected_faults(base: str, api: httpx.Client) -> None:
    customer(api)
    state = httpx.get(f"{base}/_sandbox/state", params={"doctype": "Customer"}).json()
    assert [doc["name"] for doc in state["documents"]["Customer"]] == ["Acme"]
    httpx.post(f"{base}/_sandbox/faults", json={"kind": "status", "status": 500, "count": 1})
    deadlock = api.get("/api/resource/Customer")
    assert (deadlock.status_code, deadlock.json()["exc_type"]) == (500, "QueryDeadlockError")
    httpx.post(f"{base}/_sandbox/faults", json={"kind": "rate_limit", "retry_after": 5, "count": 1})
    limited = api.get("/api/resource/Customer")
    assert (limited.status_code, limited.json()["exc_type"]) == (429, "TooManyRequestsError")
    # Frappe's limiter: Retry-After and X-RateLimit-Reset, both seconds left.
    assert (limited.headers["Retry-After"], limited.headers["X-RateLimit-Reset"]) == ("5", "5")
    httpx.post(f"{base}/_sandbox/faults", json={"kind": "commit_then_fail", "method": "POST", "count": 1})
    lost = api.post(
        "/api/resource/Customer", json={"customer_name": "Lost", "custom_lovia_customer_id": "cus_9"}
    )
    assert lost.status_code == 504
    assert "Gateway Time-out" in lost.text
    assert api.get("/api/resource/Customer/Lost").status_code == 200
    assert httpx.post(f"{base}/_sandbox/reset").status_code == 200
    assert api.get("/api/resource/Customer").json() == {"data": []}
    assert api.get("/api/resource/Item/PLAN-PRO").status_code == 200
