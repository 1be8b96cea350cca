"""Exactly-once, proven by random programs against the real stack (moto + sandboxes over HTTP).

Hypothesis generates sequences of what Lovia's backends, Xendit, attackers and operators do:
customers and invoices in any order, concurrent requests sharing an ``Idempotency-Key``, payments
(full and partial, with duplicated and shuffled callbacks), the same callback again, forged
callbacks with a valid token on every route, expiries, cancellations, consumer kills, downstream
faults and DLQ redrives. After each run the stack is left to settle and ``world.violations``
checks the whole promise. Shrinking is off: every example costs real seconds.

Profiles (``MODEL_PROFILE``): ``ci`` (fixed seed, inside ``make test``) and ``long`` (random seeds,
``make test-model``). The figures (runs, steps by kind, invariants checked, violations) are printed
at the end of the session.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from billing_testing.model.driver import Driver, new_key
from billing_testing.model.summary import SUMMARY
from billing_testing.model.world import Books, Truth, World, violations
from billing_testing.stack import CONSUMERS, Stack
from lovia_billing import derive_event_id

pytestmark = [pytest.mark.slow]

PROFILES: dict[str, dict[str, Any]] = {
    "ci": {"max_examples": 3, "stateful_step_count": 30, "derandomize": True},
    "long": {"max_examples": 25, "stateful_step_count": 60, "derandomize": False},
}
PROFILE = os.environ.get("MODEL_PROFILE", "ci")
AMOUNTS = (50_000, 99_000, 150_000, 250_000)
FORGERIES = (
    "invoice:unknown",
    "invoice:pending",
    "invoice:amount",
    "payment:unknown",
    "recurring:unknown",
    "fva:unknown",
    "ewallet:unknown",
    "refund:unknown",
)
SETTLE_SECONDS = 120.0


class BillingMachine(RuleBasedStateMachine):
    stack: Stack  # set by the test before the machine runs

    customers = Bundle("customers")
    invoices = Bundle("invoices")

    def __init__(self) -> None:
        super().__init__()
        self.driver = Driver(self.stack)
        self.world = World(prefix=f"m{SUMMARY.runs:02d}{random.randrange(10**6):06d}")
        self.counter = 0

    # --- set-up -----------------------------------------------------------------------------------

    @initialize()
    def fresh_sandboxes(self) -> None:
        self.driver.reset()

    def _next(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}_{self.world.prefix}_{self.counter:03d}"

    def _step(self, name: str) -> None:
        self.world.steps[name] += 1

    # --- Lovia's backends ----------------------------------------------------------------------------

    @rule(target=customers)
    def new_customer(self) -> str:
        customer_id = self._next("cus")
        self.world.customers[customer_id] = f"{customer_id.replace('_', '-')}@example.co.id"
        self._step("new customer")
        return customer_id

    @rule(customer=customers, with_key=st.booleans())
    def put_customer(self, customer: str, with_key: bool) -> None:
        key = f"put-{customer}" if with_key else None
        response = self.driver.put_customer(customer, self.world.customers[customer], key)
        assert response.status_code == 202, response.text
        self.world.upserted.add(customer)
        self.world.accepted_events.add(response.json()["event_id"])
        self._step("PUT customer")

    def _invoice_body(self, invoice_id: str, customer: str, amount: int) -> dict[str, Any]:
        return {
            "invoice_id": invoice_id,
            "customer_id": customer,
            "currency": "IDR",
            "amount": str(amount),
            "lines": [{"item_code": "PLAN-PRO", "description": "Plan", "quantity": 1, "unit_amount": amount}],
            "description": f"Lovia {invoice_id}",
            "payer_email": self.world.customers[customer],
            "subscription_id": f"sub_{customer}",
        }

    @rule(target=invoices, customer=customers, amount=st.sampled_from(AMOUNTS))
    def request_invoice(self, customer: str, amount: int) -> str:
        """Possibly before the customer was ever PUT: our backends send in either order."""
        invoice_id = self._next("inv")
        (response,) = self.driver.post_invoices([self._invoice_body(invoice_id, customer, amount)])
        assert response.status_code == 202, response.text
        self.world.invoices[invoice_id] = (customer, amount)
        self.world.accepted_events.add(response.json()["event_id"])
        self._step("POST invoice")
        return invoice_id

    @rule(target=invoices, customer=customers, racers=st.integers(min_value=2, max_value=6))
    def race_one_idempotency_key(self, customer: str, racers: int) -> str:
        """Several different invoices at once under one key: one wins, the rest queue nothing."""
        bodies = [self._invoice_body(self._next("inv"), customer, AMOUNTS[i % 4]) for i in range(racers)]
        answers = self.driver.post_invoices(bodies, key=new_key())
        codes = [a.status_code for a in answers]
        winners = [b for b, a in zip(bodies, answers, strict=True) if a.status_code == 202]
        assert len(winners) == 1, codes
        assert set(codes) <= {202, 409, 422}, [a.text for a in answers]
        winner = winners[0]["invoice_id"]
        won = next(a for a in answers if a.status_code == 202).json()["event_id"]
        assert won == derive_event_id("invoice.requested", winner)
        for body in bodies:
            if body["invoice_id"] != winner:
                self.world.refused_invoices.add(body["invoice_id"])
        self.world.invoices[winner] = (customer, int(winners[0]["amount"]))
        self.world.accepted_events.add(won)
        self._step("racing one Idempotency-Key")
        return str(winner)

    @rule(invoice=invoices)
    def repeat_invoice(self, invoice: str) -> None:
        customer, amount = self.world.invoices[invoice]
        (response,) = self.driver.post_invoices([self._invoice_body(invoice, customer, amount)])
        assert response.status_code == 202, response.text
        assert response.json()["event_id"] == derive_event_id("invoice.requested", invoice)
        self._step("same invoice again")

    @precondition(lambda self: bool(self.world.invoices))
    @rule(customer=customers)
    def cancel_subscription(self, customer: str) -> None:
        if not any(c == customer for c, _ in self.world.invoices.values()):
            return
        at = datetime.now(UTC).replace(microsecond=0)
        response = self.driver.cancel(customer, f"sub_{customer}", at)
        assert response.status_code == 202, response.text
        self.world.cancelled.setdefault(customer, []).append(at)
        self._step("cancel subscription")

    # --- Xendit -------------------------------------------------------------------------------------

    @rule(
        invoice=invoices,
        share=st.sampled_from(["full", "full", "partial"]),
        channel=st.sampled_from(["BCA", "MANDIRI", "OVO", "DANA", "QRIS", "CREDIT_CARD"]),
        duplicates=st.integers(min_value=0, max_value=2),
        shuffle=st.booleans(),
    )
    def pay(self, invoice: str, share: str, channel: str, duplicates: int, shuffle: bool) -> None:
        xendit = self.driver.xendit_invoice(invoice)
        assert xendit is not None, f"xendit_sync never created {invoice}"
        if xendit["status"] != "PENDING":
            return
        amount = Decimal(str(xendit["amount"]))
        body: dict[str, Any] = {"channel": channel, "duplicates": duplicates, "shuffle": shuffle}
        if share == "partial":
            body["amount"] = str(amount // 2)
        response = self.driver.xendit("POST", f"/_sandbox/invoices/{xendit['id']}/pay", json=body)
        assert response.status_code == 200, response.text
        self._step(f"pay ({share})")

    @rule(invoice=invoices)
    def expire(self, invoice: str) -> None:
        xendit = self.driver.xendit_invoice(invoice)
        if xendit is None or xendit["status"] != "PENDING":
            return
        response = self.driver.xendit("POST", f"/_sandbox/invoices/{xendit['id']}/expire", json={})
        assert response.status_code == 200, response.text
        self._step("expire")

    @rule(invoice=invoices)
    def callbacks_again(self, invoice: str) -> None:
        """Xendit's manual resend: every callback it sent for the invoice, posted once more."""
        xendit = self.driver.xendit_invoice(invoice, within=5)
        if xendit is None:
            return
        for sent in self.driver.callbacks_of(str(xendit["id"])):
            response = self.driver.callback("invoice", sent["body"])
            assert response.status_code == 200, response.text
        self._step("callbacks again")

    # --- an attacker with a valid callback token -----------------------------------------------------

    @rule(invoice=invoices, forgery=st.sampled_from(FORGERIES))
    def forge(self, invoice: str, forgery: str) -> None:
        route, kind = forgery.split(":")
        customer, amount = self.world.invoices[invoice]
        meta = {"lovia_customer_id": customer, "lovia_invoice_id": invoice}
        now = "2026-11-30T01:02:03.000Z"
        fake = new_key()[:24]
        if route == "invoice":
            xendit = self.driver.xendit_invoice(invoice, within=5) or {}
            if kind == "unknown" or not xendit:
                xid = fake
            elif kind == "pending" and xendit.get("status") == "PENDING":
                xid = str(xendit["id"])
            elif kind == "amount":
                xid = str(xendit["id"])
                amount = 1
            else:
                return
            body: dict[str, Any] = {
                "id": xid,
                "external_id": invoice,
                "user_id": "5f27a14a9bf05c73dd040bc8",
                "status": "PAID",
                "merchant_name": "Lovia",
                "amount": amount,
                "paid_amount": amount,
                "currency": "IDR",
                "payment_method": "BANK_TRANSFER",
                "payment_channel": "BCA",
                "payment_id": f"pay-{fake}",
                "paid_at": now,
                "created": now,
                "updated": now,
            }
        elif route == "fva":
            body = {
                "id": fake,
                "payment_id": f"fvap-{fake}",
                "callback_virtual_account_id": f"cva-{fake}",
                "owner_id": "5f27a14a9bf05c73dd040bc8",
                "external_id": invoice,
                "account_number": "9999000001",
                "bank_code": "BCA",
                "amount": amount,
                "transaction_timestamp": now,
            }
        else:
            event, data = {
                "payment": ("payment.succeeded", {"id": f"py-{fake}", "payment_request_id": f"pr-{fake}"}),
                "recurring": ("recurring.cycle.succeeded", {"id": f"recy-{fake}", "plan_id": f"repl-{fake}"}),
                "ewallet": ("ewallet.capture", {"id": f"ewc_{fake}", "capture_amount": amount}),
                "refund": ("refund.succeeded", {"id": f"rfd-{fake}", "invoice_id": fake}),
            }[route]
            body = {
                "event": event,
                "business_id": "5f27a14a9bf05c73dd040bc8",
                "created": now,
                "data": {
                    "status": "SUCCEEDED",
                    "amount": amount,
                    "currency": "IDR",
                    "metadata": meta,
                    **data,
                },
            }
        response = self.driver.callback(route, body)
        assert response.status_code == 200, response.text
        self.world.forged_events.add(response.json()["event_id"])
        self._step(f"forged {forgery}")

    # --- operators and failures -----------------------------------------------------------------------

    @rule(name=st.sampled_from(CONSUMERS))
    def kill_consumer(self, name: str) -> None:
        self.stack.kill(name)  # SIGKILL: nothing flushed, claims kept
        self.stack.start_component(name)
        self._step("consumer SIGKILLed")

    @rule(
        sandbox=st.sampled_from(
            ["erpnext-sandbox", "chartmogul-sandbox", "mautic-sandbox", "xendit-sandbox"]
        ),
        status=st.sampled_from([500, 502, 503, 429]),
        count=st.integers(min_value=1, max_value=4),
    )
    def downstream_fault(self, sandbox: str, status: int, count: int) -> None:
        kind = "rate_limit" if status == 429 else "status"
        self.driver.fault(sandbox, {"kind": kind, "status": status, "count": count, "method": "POST"})
        self._step("downstream fault")

    @rule()
    def redrive_dead_letters(self) -> None:
        self._redrive()
        self._step("DLQ redrive")

    def _redrive(self) -> None:
        for integration, dead in self.driver.dead_events().items():
            unexplained = dead - self.world.forged_events
            if unexplained:
                self.driver.redrive(integration, unexplained)

    # --- the verdict -------------------------------------------------------------------------------------

    def teardown(self) -> None:
        try:
            self.driver.clear_faults()
            for name in CONSUMERS:
                if not self.stack.procs[name].running():
                    self.stack.start_component(name)
            left = self.driver.settle(SETTLE_SECONDS)
            # An operator redrives what died of a passing failure (never the forged callbacks).
            for _ in range(3):
                dead = self.driver.dead_events()
                if all(not (events - self.world.forged_events) for events in dead.values()):
                    break
                self._redrive()
                left = self.driver.settle(SETTLE_SECONDS)
            assert not left, f"queues never drained: {left}"
            truth = Truth.from_sandbox(self.driver.state("xendit-sandbox"))
            books = Books.from_sandboxes(
                self.driver.state("erpnext-sandbox"),
                self.driver.state("chartmogul-sandbox"),
                self.driver.state("mautic-sandbox"),
            )
            dead_events = set().union(*self.driver.dead_events().values())
            found = violations(self.world, truth, books, dead_events)
            SUMMARY.record(self.world, truth, found)
            assert not found, "\n".join(found)
        finally:
            self.driver.close()


def test_exactly_once_under_random_programs(model_stack: Stack) -> None:
    BillingMachine.stack = model_stack
    profile = PROFILES[PROFILE]
    started = time.monotonic()
    run_state_machine_as_test(
        BillingMachine,
        settings=settings(
            max_examples=profile["max_examples"],
            stateful_step_count=profile["stateful_step_count"],
            derandomize=profile["derandomize"],
            deadline=None,
            database=None,
            phases=(Phase.explicit, Phase.generate),  # no shrinking: each example costs real seconds
            suppress_health_check=list(HealthCheck),
        ),
    )
    SUMMARY.seconds = time.monotonic() - started
