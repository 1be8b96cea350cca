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
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from billing_cli.local_stack import LOCAL_XENDIT_KEY
from billing_testing.model.driver import Driver, new_key
from billing_testing.model.summary import SUMMARY
from billing_testing.model.world import Books, Truth, World, violations
from billing_testing.stack import CONSUMERS, Stack
from lovia_billing import derive_event_id

PROFILE_TIMEOUTS = {"ci": 900, "long": 3600}

PROFILES: dict[str, dict[str, Any]] = {
    "ci": {"max_examples": 4, "stateful_step_count": 40, "derandomize": True},
    "long": {"max_examples": 25, "stateful_step_count": 60, "derandomize": False},
}
PROFILE = os.environ.get("MODEL_PROFILE", "ci")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(PROFILE_TIMEOUTS[PROFILE])]
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
DOWNSTREAM_SANDBOXES = ("erpnext-sandbox", "chartmogul-sandbox", "mautic-sandbox", "xendit-sandbox")
FAULT_PATHS = {
    "erpnext-sandbox": "/api/",
    "chartmogul-sandbox": "/v1/",
    "mautic-sandbox": "/api/",
    "xendit-sandbox": "/v2/",
}
CHANNELS = ("BCA", "MANDIRI", "BNI", "OVO", "DANA", "QRIS", "CREDIT_CARD", "ALFAMART")


#: What the model does, with how often (relative weights): one rule draws the action, so every run
#: mixes all of them (Hypothesis' swarm testing would switch whole rules off for a run).
ACTIONS: dict[str, int] = {
    "new_customer": 2,
    "put_customer": 3,
    "request_invoice": 4,
    "race_one_idempotency_key": 2,
    "repeat_invoice": 1,
    "cancel_subscription": 1,
    "pay": 5,
    "pay_through_another_product": 3,
    "report_on_every_route": 2,
    "refund": 2,
    "expire": 1,
    "callbacks_again": 2,
    "forge": 3,
    "kill_consumer": 1,
    "downstream_fault": 1,
    "redrive_dead_letters": 1,
}
WEIGHTED_ACTIONS = [name for name, weight in ACTIONS.items() for _ in range(weight)]


class Draws:
    """``data.draw(strategy)`` for the strategies the actions use, from the run's seeded random."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.drawn: list[str] = []

    def draw(self, choice: Choice, label: str = "") -> Any:
        if isinstance(choice, tuple | list | range):
            value: Any = self.rng.choice(list(choice))
        else:  # BOOL
            value = self.rng.random() < 0.5
        self.drawn.append(f"{label}={value}")
        return value


BOOL = "bool"
Choice = tuple[Any, ...] | list[Any] | range | str


class BillingMachine(RuleBasedStateMachine):
    stack: Stack  # set by the test before the machine runs

    def __init__(self) -> None:
        super().__init__()
        self.driver = Driver(self.stack)
        self.world = World(prefix=f"m{SUMMARY.runs:02d}{random.randrange(10**6):06d}")
        self.counter = 0

    @initialize(seed=st.integers(min_value=0, max_value=2**32 - 1))
    def fresh_sandboxes(self, seed: int) -> None:
        """Empty sandboxes, and the run's own random source: Hypothesis draws its seed (printed
        with a failing example), the run draws its actions from it with ``ACTIONS``' weights, since
        Hypothesis' own draws lean towards the first and simplest choice."""
        self.driver.reset()
        self.rng = random.Random(seed)

    @rule()
    def act(self) -> None:
        name = self.rng.choice(WEIGHTED_ACTIONS)
        draws = Draws(self.rng)
        getattr(self, name)(draws)
        self.world.steps[name.replace("_", " ")] += 1
        self.world.log.append(f"{name}({', '.join(draws.drawn)})")

    # --- what each action draws ------------------------------------------------------------------

    def _next(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}_{self.world.prefix}_{self.counter:03d}"

    def _customer(self, data: Draws) -> str:
        if not self.world.customers:
            return self._new_customer()
        return str(data.draw(sorted(self.world.customers), label="customer"))

    def _invoice(self, data: Draws) -> str:
        if not self.world.invoices:
            return self._request_invoice(self._customer(data), AMOUNTS[0], with_period=False)
        return str(data.draw(sorted(self.world.invoices), label="invoice"))

    def _new_customer(self) -> str:
        customer_id = self._next("cus")
        self.world.customers[customer_id] = f"{customer_id.replace('_', '-')}@example.co.id"
        return customer_id

    # --- Lovia's backends ----------------------------------------------------------------------------

    def new_customer(self, data: Draws) -> None:
        self._new_customer()

    def put_customer(self, data: Draws) -> None:
        customer = self._customer(data)
        key = f"put-{customer}" if data.draw(BOOL, label="with key") else None
        response = self.driver.put_customer(customer, self.world.customers[customer], key)
        assert response.status_code == 202, response.text
        self.world.upserted.add(customer)
        self.world.accepted_events.add(response.json()["event_id"])

    def _invoice_body(
        self, invoice_id: str, customer: str, amount: int, *, with_period: bool
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "invoice_id": invoice_id,
            "customer_id": customer,
            "currency": "IDR",
            "amount": str(amount),
            "lines": [{"item_code": "PLAN-PRO", "description": "Plan", "quantity": 1, "unit_amount": amount}],
            "description": f"Lovia {invoice_id}",
            "payer_email": self.world.customers[customer],
            "subscription_id": f"sub_{customer}",
        }
        if with_period:  # a subscription in ChartMogul (MRR), which a cancellation ends
            body["period"] = {"start": "2026-11-01", "end": "2026-11-30"}
        return body

    def _request_invoice(self, customer: str, amount: int, *, with_period: bool) -> str:
        """Possibly before the customer was ever PUT: our backends send in either order."""
        invoice_id = self._next("inv")
        body = self._invoice_body(invoice_id, customer, amount, with_period=with_period)
        (response,) = self.driver.post_invoices([body])
        assert response.status_code == 202, response.text
        self.world.invoices[invoice_id] = (customer, amount)
        self.world.bodies[invoice_id] = body
        self.world.accepted_events.add(response.json()["event_id"])
        return invoice_id

    def request_invoice(self, data: Draws) -> None:
        amount = data.draw(AMOUNTS, label="amount")
        self._request_invoice(self._customer(data), amount, with_period=data.draw(BOOL, label="period"))

    def race_one_idempotency_key(self, data: Draws) -> None:
        """Several different invoices at once under one key: one wins, the rest queue nothing."""
        customer = self._customer(data)
        racers = data.draw(range(2, 7), label="racers")
        bodies = [
            self._invoice_body(self._next("inv"), customer, AMOUNTS[i % 4], with_period=False)
            for i in range(racers)
        ]
        answers = self.driver.post_invoices(bodies, key=new_key())
        codes = [a.status_code for a in answers]
        winners = [b for b, a in zip(bodies, answers, strict=True) if a.status_code == 202]
        assert len(winners) == 1, codes
        assert set(codes) <= {202, 409, 422}, [a.text for a in answers]
        winner = winners[0]
        won = next(a for a in answers if a.status_code == 202).json()["event_id"]
        assert won == derive_event_id("invoice.requested", winner["invoice_id"])
        for body in bodies:
            if body is not winner:
                self.world.refused_invoices.add(body["invoice_id"])
        self.world.invoices[winner["invoice_id"]] = (customer, int(winner["amount"]))
        self.world.bodies[winner["invoice_id"]] = winner
        self.world.accepted_events.add(won)

    def repeat_invoice(self, data: Draws) -> None:
        invoice = self._invoice(data)
        (response,) = self.driver.post_invoices([self.world.bodies[invoice]])
        assert response.status_code == 202, response.text
        assert response.json()["event_id"] == derive_event_id("invoice.requested", invoice)

    def cancel_subscription(self, data: Draws) -> None:
        customer = self.world.customer_of(self._invoice(data))
        at = datetime.now(UTC).replace(microsecond=0)
        response = self.driver.cancel(customer, f"sub_{customer}", at)
        assert response.status_code == 202, response.text
        # A subscription is cancelled once: a repeat answers with the first one's event and queues
        # nothing (CHANGELOG 0.1.0), so only the first cancellation is a fact.
        self.world.cancelled.setdefault(customer, [at])

    # --- Xendit -------------------------------------------------------------------------------------

    def pay(self, data: Draws) -> None:
        invoice = self._invoice(data)
        share = data.draw(("full", "full", "partial"), label="share")
        channel = data.draw(CHANNELS, label="channel")
        duplicates = data.draw(range(3), label="duplicates")
        shuffle = data.draw(BOOL, label="shuffle")
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

    def pay_through_another_product(self, data: Draws) -> None:
        """A payment request, an e-wallet charge or a subscription cycle naming one of our invoices
        (as our backends create them), paid in the sandbox, which sends its real callbacks."""
        invoice = self._invoice(data)
        customer, amount = self.world.invoices[invoice]
        product = data.draw(("payment_request", "ewallet", "recurring"), label="product")
        share = data.draw(("full", "full", "partial"), label="share")
        paid = amount if share == "full" else amount // 2
        meta = {"lovia_customer_id": customer, "lovia_invoice_id": invoice}
        if product == "payment_request":
            request = self.driver.xendit_api(
                "POST",
                "/payment_requests",
                {
                    "reference_id": invoice,
                    "amount": paid,
                    "currency": "IDR",
                    "country": "ID",
                    "payment_method": {
                        "type": "EWALLET",
                        "reusability": "ONE_TIME_USE",
                        "ewallet": {"channel_code": "OVO"},
                    },
                    "metadata": meta,
                },
            )
            self.driver.xendit_api(
                "POST", f"/payment_requests/{request['id']}/payments/simulate", {"amount": paid}
            )
        elif product == "ewallet":
            charge = self.driver.xendit_api(
                "POST",
                "/ewallets/charges",
                {
                    "reference_id": invoice,
                    "currency": "IDR",
                    "amount": paid,
                    "checkout_method": "ONE_TIME_PAYMENT",
                    "channel_code": "ID_DANA",
                    "channel_properties": {"success_redirect_url": "https://lovia.example/done"},
                    "metadata": meta,
                },
            )
            response = self.driver.xendit(
                "POST", f"/_sandbox/ewallets/charges/{charge['id']}/complete", json={}
            )
            assert response.is_success, response.text
        else:
            plan = self.driver.xendit_api(
                "POST",
                "/recurring/plans",
                {
                    "reference_id": f"sub_{customer}",
                    "customer_id": f"cust-{customer}",
                    "recurring_action": "PAYMENT",
                    "currency": "IDR",
                    "amount": paid,
                    "schedule": {"interval": "MONTH", "interval_count": 1},
                    "immediate_action_type": "FULL_AMOUNT",
                    "metadata": meta,
                    "description": "Lovia Pro",
                },
            )
            cycle = self.driver.xendit_api("GET", f"/recurring/plans/{plan['id']}/cycles")["data"][-1]
            path = f"/recurring/plans/{plan['id']}/cycles/{cycle['id']}/simulate"
            self.driver.xendit_api("POST", path, {"amount": paid})

    def report_on_every_route(self, data: Draws) -> None:
        """A payment Xendit reported, posted again on every envelope route, in any order: Xendit
        lets one URL take several webhook types, and retries and resends at will."""
        sent = [
            c["body"]
            for route in ("payment", "recurring", "ewallet", "refund")
            for c in self.driver.sent_callbacks(route)
        ]
        if not sent:
            return
        body = data.draw(sent, label="callback")
        routes = ["payment", "recurring", "ewallet", "refund"]
        self.rng.shuffle(routes)
        for route in routes:
            response = self.driver.callback(route, body)
            assert response.status_code == 200, response.text

    def refund(self, data: Draws) -> None:
        """A refund of a paid invoice, in full or in part, as finance does it at Xendit."""
        xendit = self.driver.xendit_invoice(self._invoice(data), within=5)
        if xendit is None or xendit["status"] not in ("PAID", "SETTLED"):
            return
        share = data.draw(("full", "partial"), label="share")
        body: dict[str, Any] = {"invoice_id": xendit["id"], "reason": "REQUESTED_BY_CUSTOMER"}
        if share == "partial":
            body["amount"] = int(Decimal(str(xendit["paid_amount"])) // 3)
        for _ in range(8):  # injected 5xx/429 faults hit the model's own calls too
            response = self.driver.xendit("POST", "/refunds", json=body, auth=(LOCAL_XENDIT_KEY, ""))
            if response.status_code < 500 and response.status_code != 429:
                break
            time.sleep(0.3)
        assert response.status_code in (200, 201, 400), response.text  # 400: nothing left to refund

    def expire(self, data: Draws) -> None:
        xendit = self.driver.xendit_invoice(self._invoice(data))
        if xendit is None or xendit["status"] != "PENDING":
            return
        response = self.driver.xendit("POST", f"/_sandbox/invoices/{xendit['id']}/expire", json={})
        assert response.status_code == 200, response.text

    def callbacks_again(self, data: Draws) -> None:
        """Xendit's manual resend: every callback it sent for the invoice, posted once more."""
        xendit = self.driver.xendit_invoice(self._invoice(data), within=5)
        if xendit is None:
            return
        for sent in self.driver.callbacks_of(str(xendit["id"])):
            response = self.driver.callback("invoice", sent["body"])
            assert response.status_code == 200, response.text

    # --- an attacker with a valid callback token -----------------------------------------------------

    def forge(self, data: Draws) -> None:
        invoice = self._invoice(data)
        forgery = data.draw(FORGERIES, label="forgery")
        body = self._forged_body(invoice, forgery)
        if body is None:
            return
        route = forgery.split(":")[0]
        response = self.driver.callback(route, body)
        assert response.status_code == 200, response.text
        self.world.forged_events.add(response.json()["event_id"])

    def _forged_body(self, invoice: str, forgery: str) -> dict[str, Any] | None:
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
                return None
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
        return body

    # --- operators and failures -----------------------------------------------------------------------

    def kill_consumer(self, data: Draws) -> None:
        name = data.draw(CONSUMERS, label="consumer")
        self.stack.kill(name)  # SIGKILL: nothing flushed, claims kept
        self.stack.start_component(name)

    def downstream_fault(self, data: Draws) -> None:
        sandbox = data.draw(DOWNSTREAM_SANDBOXES, label="sandbox")
        status = data.draw((500, 502, 503, 429), label="status")
        count = data.draw(range(1, 5), label="count")
        kind = "rate_limit" if status == 429 else "status"
        # The API a consumer calls, not the side door the model pays and refunds through.
        path = FAULT_PATHS[sandbox]
        self.driver.fault(sandbox, {"kind": kind, "status": status, "count": count, "path": path})

    def redrive_dead_letters(self, data: Draws) -> None:
        self._redrive()

    def _redrive(self) -> None:
        for integration, dead in self.driver.dead_events().items():
            unexplained = dead - self.world.forged_events - SUMMARY.forged_events
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
                explained = self.world.forged_events | SUMMARY.forged_events
                if all(not (events - explained) for events in dead.values()):
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
            earlier = SUMMARY.forged_events  # earlier runs' forged callbacks still lie in the DLQs
            found = violations(self.world, truth, books, dead_events - earlier)
            SUMMARY.record(self.world, truth, found)
            if found:
                reasons = self.driver.dead_reasons()
                found = [
                    f"{v} ({reasons[v.rsplit(' ', 1)[-1]]})" if v.rsplit(" ", 1)[-1] in reasons else v
                    for v in found
                ]
            assert not found, "\n".join([*found, "program:", *self.world.log])
        finally:
            self.driver.close()


def test_exactly_once_under_random_programs(model_stack: Stack) -> None:
    BillingMachine.stack = model_stack
    profile = PROFILES[PROFILE]
    started = time.monotonic()
    try:
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
    finally:
        SUMMARY.seconds = time.monotonic() - started
