"""The reconciliation's pure parts, without servers: the window, the comparison, the ledger's verdict,
the repair plan and the report. The same rules run over HTTP in ``tests/reconcile``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from billing_cli.reconcile._classify import classify, classify_one, identity, ledger_keys, second_look
from billing_cli.reconcile._compare import compare
from billing_cli.reconcile._model import (
    Action,
    Books,
    CmInvoice,
    CmTransaction,
    ErpDoc,
    ExpectedExpiry,
    ExpectedPayment,
    ExpectedRefund,
    Kind,
    MauticContact,
    Outcome,
    XenditFacts,
    XenditInvoiceView,
)
from billing_cli.reconcile._repair import planned
from billing_cli.reconcile._report import RunResult, report_html, report_json, report_markdown
from billing_cli.reconcile._window import make_window
from billing_cli.reconcile.command import (
    METRIC_DRIFT,
    METRIC_RUNS,
    METRIC_UNREPAIRED,
    NAMESPACE,
    emit_metrics,
    summary_table,
)
from lovia_billing import Integration, derive_event_id, to_minor_units
from lovia_billing.billing_facts import BillingEvent, encode, fact_of, read_facts
from lovia_billing.clients.xendit import Invoice, Refund
from lovia_billing.ledger import IntegrationState, IntegrationStatus, LedgerEntry
from lovia_billing.mautic_state import billing_state, format_invoice_ids
from lovia_billing.xendit_events import (
    expired_callback,
    expired_event,
    paid_callback,
    payment_event,
    refund_callback,
    refund_event,
)

JAKARTA = "Asia/Jakarta"
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
PAID_AT = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)
E, C, M = Integration.ERPNEXT, Integration.CHARTMOGUL, Integration.MAUTIC
WINDOW = make_window("2026-11-25", "2026-11-26", JAKARTA, NOW)


def invoice(n: int = 1, *, status: str = "PAID", amount: str = "150000", **extra: Any) -> Invoice:
    body: dict[str, Any] = {
        "id": f"x{n:023d}",
        "external_id": f"inv_{n}",
        "status": status,
        "amount": amount,
        "currency": "IDR",
        "invoice_url": "https://checkout.example/x",
        "expiry_date": datetime(2026, 11, 25, 23, 0, tzinfo=UTC),
        "created": datetime(2026, 11, 24, 23, 0, tzinfo=UTC),
        "updated": PAID_AT,
        "metadata": {"lovia_customer_id": f"cus_{n}", "lovia_invoice_id": f"inv_{n}"},
    }
    if status in ("PAID", "SETTLED"):
        body |= {
            "paid_amount": amount,
            "paid_at": PAID_AT,
            "payment_method": "BANK_TRANSFER",
            "payment_channel": "BCA",
            "payment_id": f"pay_{n}",
            "adjusted_received_amount": str(Decimal(amount) - 4500),
        }
    return Invoice.model_validate(body | extra)


def facts_for(*invoices: Invoice) -> XenditFacts:
    facts = XenditFacts()
    for inv in invoices:
        if inv.status == "EXPIRED":
            expired = expired_event(inv)
            facts.expiries[inv.id] = ExpectedExpiry(expired, expired_callback(inv, expired.customer_id))
            customer = expired.customer_id
        else:
            event = payment_event(inv)
            facts.payments[event.payment_id] = ExpectedPayment(event, paid_callback(inv, event.customer_id))
            customer = event.customer_id
        facts.invoices[inv.external_id] = XenditInvoiceView(
            inv.external_id, customer, inv.id, "IDR", inv.amount, inv.status, inv.paid_amount
        )
    return facts


def books_holding(facts: XenditFacts) -> Books:
    """Books exactly as the consumers write them for ``facts``."""
    books = Books()
    for view in facts.invoices.values():
        paid = [p.event for p in facts.payments.values() if p.event.invoice_id == view.invoice_id]
        outstanding = view.amount - sum((p.amount for p in paid), Decimal(0))
        books.erpnext.sales_invoices[view.invoice_id] = ErpDoc(
            f"SINV-{view.invoice_id}", 1, view.amount, "IDR", max(outstanding, Decimal(0)), "Paid"
        )
        transactions = [
            CmTransaction(p.payment_id, "payment", "successful", to_minor_units(p.amount, "IDR"), p.paid_at)
            for p in paid
        ]
        transactions += [
            CmTransaction(
                f"{x.event.xendit_invoice_id}:expired", "payment", "failed", 15_000_000, x.event.expired_at
            )
            for x in facts.expiries.values()
            if x.event.invoice_id == view.invoice_id
        ]
        books.chartmogul[view.invoice_id] = CmInvoice(
            "inv-uuid", "IDR", to_minor_units(view.amount, "IDR"), tuple(transactions)
        )
    for payment in facts.payments.values():
        event = payment.event
        books.erpnext.payment_entries[event.payment_id] = ErpDoc(
            f"PE-{event.payment_id}",
            1,
            event.amount - event.fees,
            posting_date=date(2026, 11, 25),
            payment_type="Receive",
        )
        books.erpnext.dated_in_window[event.payment_id] = books.erpnext.payment_entries[event.payment_id]
    for refund in facts.refunds.values():
        refunded = refund.event
        books.erpnext.credit_notes[refunded.refund_id] = ErpDoc(
            f"CN-{refunded.refund_id}", 1, -refunded.amount
        )
        books.erpnext.refund_entries[refunded.refund_id] = ErpDoc(
            f"PE-{refunded.refund_id}", 1, refunded.amount, payment_type="Pay"
        )
        cm = books.chartmogul[refunded.invoice_id]
        refund_tx = CmTransaction(
            refunded.refund_id,
            "refund",
            "successful",
            to_minor_units(refunded.amount, "IDR"),
            refunded.refunded_at,
        )
        books.chartmogul[refunded.invoice_id] = CmInvoice(
            cm.uuid, cm.currency, cm.total_in_cents, (*cm.transactions, refund_tx)
        )
    events: list[BillingEvent] = [p.event for p in facts.payments.values()]
    events += [r.event for r in facts.refunds.values()]
    events += [x.event for x in facts.expiries.values()]
    for billing_event in events:
        customer_id = billing_event.customer_id
        books.facts[customer_id] = books.facts.get(customer_id, frozenset()) | {
            encode(fact_of(billing_event))
        }
    for customer, strings in books.facts.items():
        state = billing_state(read_facts(strings)[0])
        books.contacts[customer] = MauticContact(
            7, state.status.value, format_invoice_ids(state.open_invoices), frozenset(state.tags) | {"vip"}
        )
    return books


def kinds(differences: list[Any]) -> list[tuple[str, str, str]]:
    return sorted((d.kind.value, d.integration.value, d.record) for d in differences)


# --- the window -------------------------------------------------------------------------------------


def test_window_of_dates_is_whole_local_days_and_until_is_excluded() -> None:
    zone = ZoneInfo(JAKARTA)
    window = make_window("yesterday", None, JAKARTA, NOW)
    assert window.since == datetime(2026, 11, 25, tzinfo=zone)
    assert window.until == datetime(2026, 11, 27, tzinfo=zone)  # through today
    assert window.local_dates() == (date(2026, 11, 25), date(2026, 11, 26))
    assert WINDOW.contains(datetime(2026, 11, 25, 16, 59, tzinfo=UTC))  # 23:59 in Jakarta
    assert not WINDOW.contains(datetime(2026, 11, 25, 17, 0, tzinfo=UTC))  # midnight: the next day


def test_a_window_of_moments_is_read_over_its_whole_days() -> None:
    window = make_window("2026-11-25T10:00:00+07:00", "2026-11-25T12:00:00Z", JAKARTA, NOW)
    zone = ZoneInfo(JAKARTA)
    assert window.days == (datetime(2026, 11, 25, tzinfo=zone), datetime(2026, 11, 26, tzinfo=zone))


@pytest.mark.parametrize(
    ("since", "until"), [("soon", None), ("2026-11-25T10:00:00", None), ("today", "yesterday")]
)
def test_a_bad_window_is_refused_saying_why(since: str, until: str | None) -> None:
    with pytest.raises(ValueError, match=r"not a date|no time zone|empty"):
        make_window(since, until, JAKARTA, NOW)


# --- the comparison ------------------------------------------------------------------------------------


def test_books_that_hold_exactly_what_xendit_shows_agree() -> None:
    facts = facts_for(invoice(1), invoice(2, status="SETTLED"), invoice(3, status="EXPIRED"))
    assert compare(facts, books_holding(facts), WINDOW) == []


def test_a_payment_whose_callback_never_came_is_missing_everywhere_with_its_event() -> None:
    facts = facts_for(invoice(1))
    books = books_holding(facts_for(invoice(1, status="EXPIRED")))  # issued, never paid
    books.erpnext.sales_invoices["inv_1"] = ErpDoc(
        "SINV-1", 1, Decimal(150000), "IDR", Decimal(150000), "Unpaid"
    )
    books.contacts.clear()
    books.facts.clear()

    found = compare(facts, books, WINDOW)

    assert kinds(found) == [
        ("missing_in_chartmogul", "chartmogul", "payment transaction"),
        ("missing_in_erpnext", "erpnext", "Payment Entry"),
        ("missing_in_mautic", "mautic", "billing fact (paid)"),
    ]
    for difference in found:
        assert difference.key == "pay_1"
        assert difference.event_id == derive_event_id("payment.succeeded", "pay_1")
        assert difference.repair is not None
        assert difference.repair.event_id == derive_event_id("xendit.invoice.paid", invoice(1).id, "PAID")
        assert difference.xendit["amount"] == "150000 IDR"
        assert difference.found is None


def test_amounts_cancellations_and_drafts_are_told_apart() -> None:
    facts = facts_for(invoice(1), invoice(2), invoice(3))
    books = books_holding(facts)
    books.erpnext.payment_entries["pay_1"] = ErpDoc("PE-1", 2, Decimal(145500))
    books.erpnext.payment_entries["pay_2"] = ErpDoc("PE-2", 1, Decimal(100000))
    books.erpnext.payment_entries["pay_3"] = ErpDoc("PE-3", 0, Decimal(145500))
    cm = books.chartmogul["inv_1"]
    books.chartmogul["inv_1"] = CmInvoice(
        cm.uuid,
        "IDR",
        cm.total_in_cents,
        (CmTransaction("pay_1", "payment", "successful", 14_000_000, PAID_AT),),
    )

    found = {(d.kind, d.key, d.integration): d for d in compare(facts, books, WINDOW)}

    assert set(found) == {
        (Kind.CANCELLED_IN_ERPNEXT, "pay_1", E),
        (Kind.AMOUNT_DIFFERS, "pay_2", E),
        (Kind.STATUS_DIFFERS, "pay_3", E),
        (Kind.AMOUNT_DIFFERS, "pay_1", C),
    }
    differs = found[(Kind.AMOUNT_DIFFERS, "pay_2", E)]
    assert differs.xendit["expected_in_erpnext"] == "145500 IDR"  # the amount less Xendit's fee
    assert differs.found is not None
    assert differs.found["amount"] == "100000 IDR"
    assert found[(Kind.AMOUNT_DIFFERS, "pay_1", C)].found == {
        "type": "payment",
        "result": "successful",
        "amount_in_cents": "14000000",
        "date": PAID_AT.isoformat(),
    }


def test_refunds_and_expiries_are_checked_where_their_consumers_write_them() -> None:
    paid = invoice(1)
    facts = facts_for(paid, invoice(2, status="EXPIRED"))
    refund = Refund.model_validate(
        {
            "id": "rfd-1",
            "invoice_id": paid.id,
            "payment_id": "pay_1",
            "amount": "50000",
            "currency": "IDR",
            "status": "SUCCEEDED",
            "created": PAID_AT + timedelta(hours=1),
            "updated": PAID_AT + timedelta(hours=1),
        }
    )
    event = refund_event(refund, payment_event(paid))
    facts.refunds["rfd-1"] = ExpectedRefund(event, refund_callback(refund, "cus_1"))
    books = books_holding(facts_for(paid, invoice(2, status="EXPIRED")))
    cm = books.chartmogul["inv_2"]
    books.chartmogul["inv_2"] = CmInvoice(cm.uuid, "IDR", cm.total_in_cents, ())

    found = compare(facts, books, WINDOW)

    assert kinds(found) == [
        ("missing_in_chartmogul", "chartmogul", "failed transaction"),
        ("missing_in_chartmogul", "chartmogul", "refund transaction"),
        ("missing_in_erpnext", "erpnext", "credit note"),
        ("missing_in_erpnext", "erpnext", "refund Payment Entry"),
        ("missing_in_mautic", "mautic", "billing fact (refunded)"),
    ]
    repair = next(d.repair for d in found if d.key == "rfd-1")
    assert repair is not None
    assert repair.event_id == derive_event_id(
        "xendit.callback", "refund", "refund.succeeded|rfd-1|SUCCEEDED|"
    )


def test_records_xendit_does_not_know_are_extras_and_the_contact_must_show_its_facts() -> None:
    facts = facts_for(invoice(1))
    books = books_holding(facts)
    books.erpnext.dated_in_window["pay_by_hand"] = ErpDoc(
        "PE-9", 1, Decimal(10), "IDR", posting_date=date(2026, 11, 25), payment_type="Receive"
    )
    cm = books.chartmogul["inv_1"]
    stray = CmTransaction("pay_stray", "payment", "successful", 100, PAID_AT)
    books.chartmogul["inv_1"] = CmInvoice(cm.uuid, "IDR", cm.total_in_cents, (*cm.transactions, stray))
    books.contacts["cus_1"] = MauticContact(7, "open_invoice", "inv_1", frozenset({"billing-open-invoice"}))

    found = {(d.kind, d.key): d for d in compare(facts, books, WINDOW)}

    assert set(found) == {
        (Kind.EXTRA_IN_ERPNEXT, "pay_by_hand"),
        (Kind.EXTRA_IN_CHARTMOGUL, "pay_stray"),
        (Kind.STATUS_DIFFERS, "cus_1"),
    }
    contact = found[(Kind.STATUS_DIFFERS, "cus_1")]
    assert contact.xendit == {"billing_status": "paid", "open_invoices": "", "tags": "billing-paid"}
    assert contact.found is not None
    assert contact.found["billing_status"] == "open_invoice"


def test_only_the_chosen_integrations_are_compared() -> None:
    facts = facts_for(invoice(1))
    found = compare(facts, Books(), WINDOW, integrations=[C])
    assert {d.integration for d in found} == {C}


# --- the ledger's verdict -------------------------------------------------------------------------------


def entry(event_id: str, **statuses: IntegrationStatus) -> LedgerEntry:
    return LedgerEntry(
        event_id=event_id,
        event_type="x",
        customer_id="cus_1",
        body="{}",
        routed_to=list(statuses),
        created_at=NOW,
        integrations={name: IntegrationState(status=status) for name, status in statuses.items()},
    )


def missing_payment() -> list[Any]:
    facts = facts_for(invoice(1))
    return [d for d in compare(facts, Books(), WINDOW) if d.key == "pay_1"]


def test_a_payment_that_never_happened_is_repaired_through_its_callback_once() -> None:
    findings = classify(missing_payment(), {})
    assert {f.action for f in findings} == {Action.REPAIR}
    assert {f.outcome for f in findings} == {Outcome.PLANNED}
    events = planned(findings)
    assert list(events) == [derive_event_id("xendit.invoice.paid", invoice(1).id, "PAID")]
    assert ledger_keys(missing_payment()) == {
        derive_event_id("payment.succeeded", "pay_1"),
        derive_event_id("xendit.invoice.paid", invoice(1).id, "PAID"),
    }


@pytest.mark.parametrize(
    ("status", "action", "says"),
    [
        (IntegrationStatus.QUEUED, Action.IN_FLIGHT, "queued"),
        (IntegrationStatus.RETRYING, Action.IN_FLIGHT, "retrying"),
        (IntegrationStatus.DEAD, Action.PERSON, "billing dlq show erpnext"),
        (IntegrationStatus.DONE, Action.PERSON, "--force"),
        (IntegrationStatus.NOT_QUEUED, Action.PERSON, "billing events replay"),
    ],
)
def test_an_event_in_the_ledger_is_never_republished(
    status: IntegrationStatus, action: Action, says: str
) -> None:
    (difference,) = [d for d in missing_payment() if d.integration is E]
    ledger = {difference.event_id: entry(difference.event_id, erpnext=status)}
    finding = classify_one(difference, ledger)
    assert finding.action is action
    assert says in finding.reason


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (IntegrationStatus.PROCESSING, Action.IN_FLIGHT),
        (IntegrationStatus.DEAD, Action.PERSON),
        (IntegrationStatus.DONE, Action.PERSON),
        (IntegrationStatus.NOT_QUEUED, Action.REPAIR),
    ],
)
def test_a_callback_already_in_the_ledger_decides(status: IntegrationStatus, action: Action) -> None:
    (difference,) = [d for d in missing_payment() if d.integration is E]
    assert difference.repair is not None
    ledger = {difference.repair.event_id: entry(difference.repair.event_id, xendit=status)}
    assert classify_one(difference, ledger).action is action


@pytest.mark.parametrize("where", ["event", "callback"])
@pytest.mark.parametrize(
    ("done_after_reading", "action"),
    [
        (timedelta(0), Action.IN_FLIGHT),
        (timedelta(seconds=3), Action.IN_FLIGHT),
        (-timedelta(seconds=1), Action.PERSON),
    ],
)
def test_done_since_the_books_were_read_is_in_flight_and_done_before_is_for_a_person(
    where: str, done_after_reading: timedelta, action: Action
) -> None:
    # A run reads the books, then the ledger; a consumer that booked in between shows done in the
    # ledger although the books it read lack the record. Only a done older than the reading is odd.
    (difference,) = [d for d in missing_payment() if d.integration is E]
    assert difference.repair is not None
    key, integration = (
        (difference.event_id, "erpnext") if where == "event" else (difference.repair.event_id, "xendit")
    )
    assert key is not None
    read_at = NOW
    done = entry(key, **{integration: IntegrationStatus.DONE})
    done.integrations[integration].updated_at = read_at + done_after_reading
    finding = classify_one(difference, {key: done}, books_read_at=read_at)
    assert finding.action is action
    assert classify_one(difference, {key: done}).action is Action.PERSON  # no reading time: as before


def test_a_draft_read_while_its_consumer_submitted_it_is_in_flight() -> None:
    # erpnext_sync inserts the Payment Entry as a draft, then submits it and writes done: a run that
    # read the draft and then the ledger sees a status that differs and an event done since.
    facts = facts_for(invoice(3))
    books = books_holding(facts)
    books.erpnext.payment_entries["pay_3"] = ErpDoc("PE-3", 0, Decimal(145500))
    (draft,) = compare(facts, books, WINDOW)
    assert (draft.kind, draft.event_id) == (
        Kind.STATUS_DIFFERS,
        derive_event_id("payment.succeeded", "pay_3"),
    )
    assert draft.event_id is not None
    done = entry(draft.event_id, erpnext=IntegrationStatus.DONE)
    done.integrations["erpnext"].updated_at = NOW + timedelta(milliseconds=40)
    assert classify_one(draft, {draft.event_id: done}, books_read_at=NOW).action is Action.IN_FLIGHT
    done.integrations["erpnext"].updated_at = NOW - timedelta(hours=1)
    assert classify_one(draft, {draft.event_id: done}, books_read_at=NOW).action is Action.PERSON


def test_only_drift_both_readings_show_is_for_a_person() -> None:
    # A contact read while mautic_sync tagged it, then read again: the first reading's person
    # finding stands only if the second reading has it too; one new in the second is in flight.
    facts = facts_for(invoice(1), invoice(3))
    books = books_holding(facts)
    books.erpnext.payment_entries["pay_1"] = ErpDoc("PE-1", 2, Decimal(145500))
    books.erpnext.payment_entries["pay_3"] = ErpDoc("PE-3", 0, Decimal(145500))
    (cancelled, draft) = sorted(classify(compare(facts, books, WINDOW), {}), key=lambda f: f.difference.key)
    assert (cancelled.action, draft.action) == (Action.PERSON, Action.PERSON)
    first = {identity(cancelled)}
    assert second_look(cancelled, first) is cancelled
    moved = second_look(draft, first)
    assert moved.action is Action.IN_FLIGHT
    assert moved.reason.startswith("appeared between two readings of the books")


def test_what_cannot_be_repaired_safely_is_left_for_a_person() -> None:
    facts = facts_for(invoice(1))
    books = books_holding(facts)
    books.erpnext.payment_entries["pay_1"] = ErpDoc("PE-1", 2, Decimal(145500))
    del books.erpnext.sales_invoices["inv_1"]
    findings = classify(compare(facts, books, WINDOW), {})
    assert {(f.difference.kind, f.action) for f in findings} == {
        (Kind.CANCELLED_IN_ERPNEXT, Action.PERSON),
        (Kind.MISSING_IN_ERPNEXT, Action.PERSON),  # the Sales Invoice: invoice.issued is not repaired here
    }
    assert planned(findings) == {}


# --- the report -------------------------------------------------------------------------------------------


def test_the_report_names_each_difference_both_sides_and_the_verdict() -> None:
    findings = classify(missing_payment(), {})
    result = RunResult("r1", "local", WINDOW, (E, C, M), False, NOW, facts_for(invoice(1)), findings)
    result.requests.update({"xendit": 2, "erpnext": 5})

    document = json.loads(json.dumps(report_json(result)))
    markdown, page = report_markdown(result), report_html(result)

    assert document["agree"] is False
    assert document["summary"]["repairable"] == 3
    assert document["requests"] == {
        "by_system": {"erpnext": 5, "xendit": 2},
        "total": 7,
        "records": 1,
        "per_record": 7.0,
    }
    first = document["differences"][0]
    assert first["event"] == {
        "type": "payment.succeeded",
        "id": derive_event_id("payment.succeeded", "pay_1"),
    }
    assert first["repair_event"]["type"] == "xendit.invoice.paid"
    assert result.unrepaired() == 3  # planned, not done: without --repair it stays for a person
    assert "missing in ERPNext" in markdown
    assert "`pay_1`" in markdown
    assert "<table>" in page
    assert "missing in Mautic" in page
    assert "<script" not in report_html(
        RunResult("<script>", "local", WINDOW, (E,), False, NOW, XenditFacts(), findings)
    )


def test_metrics_are_one_emf_document_the_alarms_read(capsys: pytest.CaptureFixture[str]) -> None:
    findings = classify(missing_payment(), {})
    result = RunResult("r1", "production", WINDOW, (E, C, M), False, NOW, facts_for(invoice(1)), findings)

    emit_metrics(result)

    (document,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == NAMESPACE
    assert directive["Dimensions"] == [["stage"]]
    assert document["stage"] == "production"
    assert document[METRIC_UNREPAIRED] == [3.0]
    assert document[METRIC_DRIFT] == [3.0]
    assert document[METRIC_RUNS] == [1.0]


def test_the_summary_table_counts_each_kind_per_system_and_what_became_of_it() -> None:
    findings = classify(missing_payment(), {})
    (erpnext,) = [f for f in findings if f.difference.integration is E]
    erpnext.outcome = Outcome.PUBLISHED  # the others' stay planned: not attempted, so a person's
    result = RunResult("r1", "local", WINDOW, (E, C, M), True, NOW, facts_for(invoice(1)), findings)
    console = Console(record=True, width=140)

    console.print(summary_table(result))

    text = console.export_text()
    assert "Drift found" in text
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if "missing in" in line}
    assert set(rows) == {"missing in ChartMogul", "missing in ERPNext", "missing in Mautic"}
    # found, repaired, on its way, for a person
    assert "│erpnext│1│1│0│0│" in rows["missing in ERPNext"].replace(" ", "")
    assert "│chartmogul│1│0│0│1│" in rows["missing in ChartMogul"].replace(" ", "")
    assert "1 payments" in text
