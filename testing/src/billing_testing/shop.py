"""``Shop``: what the end-to-end product tests do to a running stack, and what they read back."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from billing_cli.local_stack import LOCAL_API_KEY, LOCAL_CALLBACK_TOKEN, LOCAL_XENDIT_KEY
from billing_testing.e2e import Queues
from billing_testing.stack import Stack

_ids = itertools.count(1)


class Shop:
    """Our backends, Xendit's customers and an auditor, in one place."""

    def __init__(self, stack: Stack, http: httpx.AsyncClient) -> None:
        self.stack = stack
        self.http = http
        self.prefix = f"e{int(time.time() * 1000) % 10**8}"
        self._xendit_ids: dict[str, str] = {}

    # --- our backends -------------------------------------------------------------------------------

    async def customer_with_invoice(self, amount: int) -> tuple[str, str]:
        """A customer (PUT) and an invoice (POST), and Xendit's invoice for it; their ids."""
        return await self.invoice_then_customer(amount, customer_first=True)

    async def invoice_then_customer(
        self, amount: int, *, customer_first: bool = False, customer_after: float = 0.0
    ) -> tuple[str, str]:
        """Our backends' two calls, in either order (``customer_after`` seconds apart)."""
        n = next(_ids)
        customer, invoice = f"cus_{self.prefix}_{n}", f"inv_{self.prefix}_{n}"
        email = f"{customer.replace('_', '-')}@example.co.id"
        if customer_first:
            await self._put_customer(customer, email)
        body = {
            "invoice_id": invoice,
            "customer_id": customer,
            "currency": "IDR",
            "amount": str(amount),
            "lines": [{"item_code": "PLAN-PRO", "description": "Plan", "quantity": 1, "unit_amount": amount}],
            "description": f"Lovia {invoice}",
            "payer_email": email,
            "subscription_id": f"sub_{customer}",
        }
        response = await self.http.post(
            self.stack.url("ingest") + "/v1/invoices", headers=self._api, json=body
        )
        assert response.status_code == 202, response.text
        if not customer_first:
            await asyncio.sleep(customer_after)
            await self._put_customer(customer, email)
        found = await self.wait_for(lambda: self._xendit_invoice(invoice))
        self._xendit_ids[invoice] = str(found["id"])
        await self.wait_for(lambda: self.erpnext("Sales Invoice", custom_lovia_invoice_id=invoice))
        await self.wait_for(lambda: [i for i in self.cm_state()["invoices"] if i["external_id"] == invoice])
        return customer, invoice

    @property
    def _api(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {LOCAL_API_KEY}"}

    async def _put_customer(self, customer: str, email: str) -> None:
        response = await self.http.put(
            self.stack.url("ingest") + f"/v1/customers/{customer}",
            headers=self._api,
            json={"email": email, "name": "Budi"},
        )
        assert response.status_code == 202, response.text

    def xendit_id(self, invoice: str) -> str:
        return self._xendit_ids[invoice]

    async def callback(self, route: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(
            self.stack.url("ingest") + f"/webhooks/xendit/{route}",
            headers={"x-callback-token": LOCAL_CALLBACK_TOKEN},
            json=body,
        )

    # --- Xendit -------------------------------------------------------------------------------------

    async def xendit_api(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.request(
            method, self.stack.url("xendit-sandbox") + path, json=body, auth=(LOCAL_XENDIT_KEY, "")
        )
        assert response.is_success, f"{method} {path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def sandbox_post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.post(self.stack.url("xendit-sandbox") + path, json=body)
        assert response.is_success, f"{path}: {response.status_code} {response.text}"
        result: dict[str, Any] = response.json()
        return result

    async def callbacks(self, path_suffix: str) -> list[dict[str, Any]]:
        """What the Xendit sandbox sent to a callback path (e.g. ``/recurring``)."""
        response = await self.http.get(self.stack.url("xendit-sandbox") + "/_sandbox/callbacks")
        response.raise_for_status()
        return [c for c in response.json() if str(c.get("url", "")).endswith(path_suffix)]

    def _xendit_invoice(self, external_id: str) -> dict[str, Any] | None:
        state = httpx.get(self.stack.url("xendit-sandbox") + "/_sandbox/state", timeout=10).json()
        return next((i for i in state["invoices"] if i["external_id"] == external_id), None)

    # --- the books ------------------------------------------------------------------------------------

    def erpnext(self, doctype: str, **match: Any) -> list[dict[str, Any]]:
        state = httpx.get(self.stack.url("erpnext-sandbox") + "/_sandbox/state", timeout=10).json()
        documents: list[dict[str, Any]] = state["documents"].get(doctype, [])
        return [d for d in documents if all(d.get(k) == v for k, v in match.items())]

    def erpnext_customer(self, customer: str) -> str | None:
        found = self.erpnext("Customer", custom_lovia_customer_id=customer)
        return str(found[0]["name"]) if found else None

    def mautic_contact(self, customer: str, *, tag: str | None = None) -> dict[str, Any] | None:
        """The Mautic contact of our customer (with ``tag``, when given)."""
        state = httpx.get(self.stack.url("mautic-sandbox") + "/_sandbox/state", timeout=10).json()
        for contact in state["contacts"].values():
            fields = contact["fields"]["all"]
            if fields.get("billing_customer_id") == customer:
                tags = {t["tag"] for t in contact["tags"]}
                if tag is None or tag in tags:
                    return dict(contact)
        return None

    def cm_state(self) -> dict[str, Any]:
        result: dict[str, Any] = httpx.get(
            self.stack.url("chartmogul-sandbox") + "/_sandbox/state", timeout=10
        ).json()
        return result

    def cm_transactions(self, invoice: str) -> list[dict[str, Any]]:
        return [
            t for i in self.cm_state()["invoices"] if i["external_id"] == invoice for t in i["transactions"]
        ]

    async def ledger_status(self, event_id: str, integration: str, status: str) -> dict[str, Any] | None:
        response = await self.http.get(
            self.stack.url("ingest") + f"/v1/events/{event_id}",
            headers={"Authorization": f"Bearer {LOCAL_API_KEY}"},
        )
        if response.status_code != 200:
            return None
        entry: dict[str, Any] = response.json()
        state = entry["integrations"].get(integration) or {}
        return entry if state.get("status") == status else None

    # --- waiting ----------------------------------------------------------------------------------------

    async def wait_for(self, probe: Callable[[], Any], within: float = 60.0) -> Any:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = probe()
            if asyncio.iscoroutine(found):
                found = await found
            if found:
                return found
            await asyncio.sleep(0.2)
        raise AssertionError(f"not within {within} s")

    async def settle(self, within: float = 60.0, *, dead_ok: bool = False) -> None:
        """Until no queue holds anything (a booking can then no longer appear twice later)."""
        queues = Queues(self.stack)

        def idle() -> bool:
            busy = queues.busy()
            return not {k: v for k, v in busy.items() if not (dead_ok and k.endswith("-dlq"))}

        await self.wait_for(idle, within)
        await asyncio.sleep(1.0)
        await self.wait_for(idle, within)

    async def assert_booked_once(self, payment_id: str, amount: Decimal, invoice: str) -> None:
        """One Payment Entry and one ChartMogul payment, of ``amount``, for this payment; nothing else."""
        await self.wait_for(lambda: self.erpnext("Payment Entry", custom_xendit_payment_id=payment_id))
        await self.wait_for(
            lambda: [t for t in self.cm_transactions(invoice) if t["external_id"] == payment_id]
        )
        # Other tests' forged callbacks stay in the xendit DLQ for the whole session: only the source
        # queues must drain here (a booking can then no longer appear twice later).
        await self.settle(dead_ok=True)
        entries = [e for e in self.erpnext("Payment Entry") if e.get("payment_type") == "Receive"]
        mine = [e for e in entries if e["custom_xendit_payment_id"] == payment_id]
        assert len(mine) == 1, mine
        deductions = sum((Decimal(str(d["amount"])) for d in mine[0].get("deductions", [])), Decimal(0))
        assert Decimal(str(mine[0]["paid_amount"])) + deductions == Decimal(amount)
        references = {r["reference_name"] for e in mine for r in e.get("references", [])}
        sales = self.erpnext("Sales Invoice", custom_lovia_invoice_id=invoice)
        assert references <= {s["name"] for s in sales}
        payments = [t for t in self.cm_transactions(invoice) if t["type"] == "payment"]
        assert [(t["external_id"], t["result"], t["amount_in_cents"]) for t in payments] == [
            (payment_id, "successful", int(amount) * 100)
        ]
        invoice_payments = [
            e for e in entries for r in e.get("references", []) if r["reference_name"] in references
        ]
        assert len(invoice_payments) == 1, invoice_payments
