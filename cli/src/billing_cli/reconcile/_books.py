"""Reading the books for what Xendit shows: ERPNext, ChartMogul, Mautic, and the ledger.

Every read goes by our own keys and in batches where the API allows it:

* ERPNext: list filters ``<custom field> in [...]`` (100 ids a request) for Sales Invoices, Payment
  Entries, credit notes and refund entries; the window's submitted Payment Entries by
  ``posting_date`` (local dates), page by page, for extras.
* ChartMogul: ``GET /v1/invoices?data_source_uuid=&external_id=`` per invoice (its transactions come
  with it), a few at a time under ChartMogul's 40 requests a second.
* Mautic: contacts by ``<customer id field> in [...]`` (30 a request); the customers' billing facts
  from mautic_sync's items in the idempotency table (``BatchGetItem``, 100 keys a request).
* The ledger: the entries of the events a difference names (``BatchGetItem``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from billing_cli.reconcile._model import Books, CmInvoice, CmTransaction, ErpDoc, MauticContact, Window
from lovia_billing.billing_facts import fact_key
from lovia_billing.clients.chartmogul import ChartMogulClient
from lovia_billing.clients.erpnext import (
    INVOICE_ID_FIELD,
    XENDIT_PAYMENT_ID_FIELD,
    XENDIT_REFUND_ID_FIELD,
    ErpnextClient,
)
from lovia_billing.clients.mautic import MauticClient, Where
from lovia_billing.ledger import LedgerEntry, entry_from_item
from lovia_billing.mautic_state import FieldAliases

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient

Tick = Callable[[str, int], None]
T = TypeVar("T")
ERPNEXT_BATCH = 100
MAUTIC_BATCH = 30
DYNAMODB_BATCH = 100
ERPNEXT_PAGE = 500
_SI_FIELDS = ("name", "docstatus", "grand_total", "currency", "outstanding_amount", "status")
_PE_FIELDS = (
    "name",
    "docstatus",
    "paid_amount",
    "payment_type",
    "posting_date",
    "paid_from_account_currency",
)


def _never(_what: str, _count: int) -> None:
    return None


def chunks(items: Iterable[T], size: int) -> list[list[T]]:
    ordered = sorted(items)  # type: ignore[type-var]  # our keys are strings
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def _decimal(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value or 0))


def _doc(row: dict[str, Any], amount_field: str) -> ErpDoc:
    posting = row.get("posting_date")
    outstanding = row.get("outstanding_amount")
    return ErpDoc(
        name=str(row["name"]),
        docstatus=int(row.get("docstatus") or 0),
        amount=_decimal(row.get(amount_field)),
        currency=row.get("currency") or row.get("paid_from_account_currency"),
        outstanding=None if outstanding is None else _decimal(outstanding),
        status=row.get("status"),
        posting_date=date.fromisoformat(str(posting)[:10]) if posting else None,
        payment_type=row.get("payment_type"),
    )


def _prefer_live(found: dict[str, ErpDoc], key: str, doc: ErpDoc) -> None:
    """A submitted document wins over a cancelled or draft one with the same key (kept by hand)."""
    current = found.get(key)
    if current is None or (current.docstatus != 1 and doc.docstatus == 1):
        found[key] = doc


class ErpnextReader:
    def __init__(self, client: ErpnextClient, tick: Tick = _never) -> None:
        self.client = client
        self.tick = tick

    async def _by(
        self, doctype: str, field: str, keys: Iterable[str], fields: Sequence[str], amount_field: str
    ) -> dict[str, ErpDoc]:
        found: dict[str, ErpDoc] = {}
        for batch in chunks(keys, ERPNEXT_BATCH):
            rows = await self.client.get_list(
                doctype, filters=[[field, "in", batch]], fields=(*fields, field), limit=0
            )
            for row in rows:
                if row.get(field):
                    _prefer_live(found, str(row[field]), _doc(row, amount_field))
            self.tick("ERPNext", len(batch))
        return found

    async def read(
        self,
        books: Books,
        *,
        invoice_ids: Iterable[str],
        payment_ids: Iterable[str],
        refund_ids: Iterable[str],
        window: Window,
    ) -> None:
        erp = books.erpnext
        erp.sales_invoices = await self._by(
            "Sales Invoice", INVOICE_ID_FIELD, invoice_ids, _SI_FIELDS, "grand_total"
        )
        erp.payment_entries = await self._by(
            "Payment Entry", XENDIT_PAYMENT_ID_FIELD, payment_ids, _PE_FIELDS, "paid_amount"
        )
        refund_ids = list(refund_ids)
        erp.credit_notes = await self._by(
            "Sales Invoice", XENDIT_REFUND_ID_FIELD, refund_ids, _SI_FIELDS, "grand_total"
        )
        erp.refund_entries = await self._by(
            "Payment Entry", XENDIT_REFUND_ID_FIELD, refund_ids, _PE_FIELDS, "paid_amount"
        )
        erp.dated_in_window = await self.dated(window)

    async def dated(self, window: Window) -> dict[str, ErpDoc]:
        """Submitted Payment Entries posted on the window's local dates, by their Xendit id."""
        first, last = window.local_dates()
        fields = (*_PE_FIELDS, XENDIT_PAYMENT_ID_FIELD, XENDIT_REFUND_ID_FIELD)
        filters: list[list[Any]] = [
            ["posting_date", "between", [first.isoformat(), last.isoformat()]],
            ["docstatus", "=", 1],
        ]
        found: dict[str, ErpDoc] = {}
        start = 0
        while True:
            rows = await self.client.get_list(
                "Payment Entry",
                filters=filters,
                fields=fields,
                order_by="creation asc",
                limit=ERPNEXT_PAGE,
                start=start,
            )
            for row in rows:
                key = row.get(XENDIT_PAYMENT_ID_FIELD) or row.get(XENDIT_REFUND_ID_FIELD)
                if key:
                    found[str(key)] = _doc(row, "paid_amount")
            self.tick("ERPNext", 0)
            if len(rows) < ERPNEXT_PAGE:
                return found
            start += ERPNEXT_PAGE


class Throttle:
    """At most ``per_second`` starts a second (evenly spaced), shared by concurrent callers: ChartMogul
    allows 40 requests a second and sends no ``Retry-After``, so a bulk reader stays below instead of
    spending requests on 429s."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


async def _gathered(
    keys: Iterable[str], fetch: Callable[[str], Awaitable[T]], concurrency: int
) -> dict[str, T]:
    gate = asyncio.Semaphore(concurrency)

    async def one(key: str) -> tuple[str, T]:
        async with gate:
            return key, await fetch(key)

    return dict(await asyncio.gather(*(one(key) for key in sorted(keys))))


class ChartmogulReader:
    def __init__(
        self,
        client: ChartMogulClient,
        data_source_uuid: str,
        *,
        concurrency: int = 8,
        per_second: float = 30.0,
        tick: Tick = _never,
    ) -> None:
        self.client = client
        self.data_source_uuid = data_source_uuid
        self.concurrency = concurrency
        self.throttle = Throttle(per_second)
        self.tick = tick

    async def _invoice(self, invoice_id: str) -> CmInvoice | None:
        await self.throttle.wait()
        found = await self.client.find_invoice(self.data_source_uuid, invoice_id)
        self.tick("ChartMogul", 1)
        if found is None:
            return None
        return CmInvoice(
            uuid=found.uuid,
            currency=found.currency,
            total_in_cents=sum(line.amount_in_cents for line in found.line_items),
            transactions=tuple(
                CmTransaction(t.external_id, t.type, t.result, t.amount_in_cents, t.date)
                for t in found.transactions
            ),
        )

    async def read(self, books: Books, invoice_ids: Iterable[str]) -> None:
        found = await _gathered(invoice_ids, self._invoice, self.concurrency)
        books.chartmogul = {key: invoice for key, invoice in found.items() if invoice is not None}


class MauticReader:
    def __init__(
        self,
        client: MauticClient,
        dynamodb: DynamoDBClient,
        facts_table: str,
        aliases: FieldAliases,
        tick: Tick = _never,
    ) -> None:
        self.client = client
        self.dynamodb = dynamodb
        self.facts_table = facts_table
        self.aliases = aliases
        self.tick = tick
        self.aws_requests = 0

    async def read(self, books: Books, customer_ids: Iterable[str]) -> None:
        customer_ids = sorted(set(customer_ids))
        for batch in chunks(customer_ids, MAUTIC_BATCH):
            where = [Where(col=self.aliases.customer_id, val=list(batch), expr="in")]
            for contact in await self.client.find_contacts(where=where, limit=len(batch) * 2):
                customer = contact.value(self.aliases.customer_id)
                if customer and str(customer) not in books.contacts:  # newest first: the newest wins
                    books.contacts[str(customer)] = MauticContact(
                        id=contact.id,
                        status=contact.value(self.aliases.status),
                        open_invoices=contact.value(self.aliases.open_invoices),
                        tags=contact.tags,
                    )
            self.tick("Mautic", len(batch))
        keys = {fact_key(customer): customer for customer in customer_ids}
        for item in await self._batch_get(self.facts_table, list(keys), projection="pk, facts"):
            books.facts[keys[item["pk"]["S"]]] = frozenset(item.get("facts", {}).get("SS", []))

    async def _batch_get(self, table: str, keys: list[str], *, projection: str) -> list[dict[str, Any]]:
        items, requests = await batch_get(self.dynamodb, table, "pk", keys, projection=projection)
        self.aws_requests += requests
        return items


async def batch_get(
    dynamodb: DynamoDBClient, table: str, key_name: str, keys: Sequence[str], *, projection: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every item of ``keys`` (``BatchGetItem``, 100 a request, unprocessed keys asked again);
    and the number of requests it took."""
    items: list[dict[str, Any]] = []
    requests = 0
    for batch in chunks(keys, DYNAMODB_BATCH):
        wanted: dict[str, Any] = {
            table: {"Keys": [{key_name: {"S": key}} for key in batch], "ConsistentRead": True}
        }
        if projection:
            wanted[table]["ProjectionExpression"] = projection
        while wanted:
            response = await dynamodb.batch_get_item(RequestItems=wanted)
            requests += 1
            items += response.get("Responses", {}).get(table, [])
            wanted = dict(response.get("UnprocessedKeys") or {})
            if wanted:
                await asyncio.sleep(0.1 * requests)  # DynamoDB's own advice: back off, then ask again
    return items, requests


async def ledger_entries(
    dynamodb: DynamoDBClient, table: str, event_ids: Iterable[str]
) -> tuple[dict[str, LedgerEntry], int]:
    items, requests = await batch_get(dynamodb, table, "event_id", sorted(set(event_ids)))
    entries = [entry_from_item(item) for item in items]
    return {entry.event_id: entry for entry in entries}, requests
