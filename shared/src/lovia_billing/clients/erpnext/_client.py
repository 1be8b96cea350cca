"""An async client for ERPNext's v1 REST API (``/api/resource/...``), ``Authorization: token key:secret``.

Two kinds of methods:

* generic: ``get_doc``, ``get_list``, ``insert``, ``update``, ``submit``, ``delete``, and the two that
  make writes idempotent, ``find_by`` and ``insert_once`` (look up by an external id before inserting;
  after a conflict, a timeout or a 5xx, re-read instead of failing, since the write may have committed);
* typed: customers, sales invoices, payment entries and comments, keyed by our custom fields.

Errors: see ``_errors`` (conflict → re-read, deadlock/5xx/timeouts retryable, validation permanent).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from lovia_billing._errors import PermanentError, RateLimited, RetryableError
from lovia_billing.clients._http import DEFAULT_TIMEOUT, HttpClient, send
from lovia_billing.clients.erpnext._errors import SYSTEM, parse_json, raise_for_erpnext
from lovia_billing.clients.erpnext._fields import (
    CUSTOMER_ID_FIELD,
    INVOICE_ID_FIELD,
    SUBSCRIPTION_ID_FIELD,
    XENDIT_PAYMENT_ID_FIELD,
    XENDIT_REFUND_ID_FIELD,
)
from lovia_billing.clients.erpnext._models import Comment, Customer, Document, PaymentEntry, SalesInvoice

Doc = dict[str, Any]
D = TypeVar("D", bound=Document)


def _secret(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def resource_path(doctype: str, name: str | None = None) -> str:
    """``/api/resource/Sales%20Invoice[/ACC-SINV-2025-00001]``; names may hold ``/`` and spaces."""
    path = f"/api/resource/{quote(doctype, safe='')}"
    return f"{path}/{quote(name, safe='')}" if name is not None else path


class ErpnextClient(HttpClient):
    """One ERPNext site. Use as ``async with ErpnextClient(...) as client``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr,
        api_secret: str | SecretStr,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        token = f"token {_secret(api_key)}:{_secret(api_secret)}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": token, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    # ------------------------------------------------------------------ transport
    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        request = self._http.build_request(method, path, params=params, json=body)
        response = await send(self._http, request, system=SYSTEM)
        raise_for_erpnext(response)
        return parse_json(response)

    # ------------------------------------------------------------------ generic resource API
    async def get_doc(self, doctype: str, name: str) -> Doc | None:
        """The document, or ``None`` if ERPNext answers 404 ``DoesNotExistError``."""
        try:
            body = await self._call("GET", resource_path(doctype, name))
        except PermanentError as exc:
            if getattr(exc, "status", None) == 404:
                return None
            raise
        return _document(body)

    async def get_list(
        self,
        doctype: str,
        *,
        filters: Sequence[Sequence[Any]] | Mapping[str, Any] | None = None,
        fields: Sequence[str] = ("name",),
        order_by: str | None = None,
        limit: int = 20,
        start: int = 0,
    ) -> list[Doc]:
        """Rows with exactly ``fields`` (``["*"]``: every column but child tables); ``limit=0``: all;
        ``start``: rows to skip (``limit_start``), to read a long list page by page."""
        params = {"fields": json.dumps(list(fields)), "limit_page_length": str(limit)}
        if start:
            params["limit_start"] = str(start)
        if filters is not None:
            params["filters"] = json.dumps(
                filters if isinstance(filters, Mapping) else [list(f) for f in filters]
            )
        if order_by:
            params["order_by"] = order_by
        rows = _data(await self._call("GET", resource_path(doctype), params=params))
        return list(rows) if isinstance(rows, list) else []

    async def insert(self, doctype: str, doc: Mapping[str, Any]) -> Doc:
        """``POST``: a new document (``docstatus: 1`` inserts and submits in one transaction)."""
        return _document(await self._call("POST", resource_path(doctype), body=doc))

    async def update(self, doctype: str, name: str, changes: Mapping[str, Any]) -> Doc:
        return _document(await self._call("PUT", resource_path(doctype, name), body=changes))

    async def delete(self, doctype: str, name: str) -> None:
        await self._call("DELETE", resource_path(doctype, name))

    async def submit(self, doctype: str, name: str) -> Doc:
        """Submit a draft with ``PUT {"docstatus": 1}`` (no ``modified``, so no timestamp trap).

        If the answer is lost (timeout, 5xx), the document is re-read: submitted means done.
        """
        try:
            return await self.update(doctype, name, {"docstatus": 1})
        except RateLimited:
            raise
        except RetryableError:
            doc = await self.get_doc(doctype, name)
            if doc is not None and doc.get("docstatus") == 1:
                return doc
            raise

    async def find_by(
        self, doctype: str, field: str, value: str, fields: Sequence[str] = ("*",)
    ) -> Doc | None:
        """The one document whose ``field`` (a unique custom field) equals ``value``, or ``None``."""
        rows = await self.get_list(doctype, filters=[[field, "=", value]], fields=fields, limit=2)
        if len(rows) > 1:
            raise PermanentError(f"{SYSTEM}: several {doctype} documents have {field} = {value!r}")
        return rows[0] if rows else None

    async def insert_once(self, doctype: str, key_field: str, doc: Mapping[str, Any]) -> Doc:
        """Insert ``doc`` unless a document with the same ``key_field`` exists; never a second one.

        Before inserting, look the key up. After a unique conflict (a concurrent insert), a timeout
        or a 5xx (the write may have committed before the answer was lost), look it up again and
        return what is there; if nothing is there, the original retryable error stands.
        """
        key = str(doc[key_field])
        found = await self.find_by(doctype, key_field, key)
        if found is not None:
            return found
        try:
            return await self.insert(doctype, doc)
        except RateLimited:
            raise  # refused before any work: nothing to re-read
        except RetryableError:
            found = await self.find_by(doctype, key_field, key)
            if found is not None:
                return found
            raise

    async def logged_user(self) -> str:
        """``frappe.auth.get_logged_user``: who the API key belongs to (a cheap credentials check)."""
        body = await self._call("GET", "/api/method/frappe.auth.get_logged_user")
        return str(body.get("message", "")) if isinstance(body, dict) else ""

    # ------------------------------------------------------------------ typed helpers
    async def _find(self, model: type[D], field: str, value: str) -> D | None:
        row = await self.find_by(model.DOCTYPE, field, value)
        return model.model_validate(row) if row is not None else None

    async def _get(self, model: type[D], name: str) -> D:
        doc = await self.get_doc(model.DOCTYPE, name)
        if doc is None:
            raise RetryableError(f"{SYSTEM}: {model.DOCTYPE} {name} vanished after it was written")
        return model.model_validate(doc)

    async def find_customer(self, customer_id: str) -> Customer | None:
        return await self._find(Customer, CUSTOMER_ID_FIELD, customer_id)

    async def create_customer(self, customer: Customer) -> Customer:
        doc = await self.insert_once(Customer.DOCTYPE, CUSTOMER_ID_FIELD, customer.payload())
        return Customer.model_validate(doc)

    async def update_customer(self, name: str, changes: Mapping[str, Any]) -> Customer:
        return Customer.model_validate(await self.update(Customer.DOCTYPE, name, changes))

    async def find_sales_invoice(self, invoice_id: str) -> SalesInvoice | None:
        return await self._find(SalesInvoice, INVOICE_ID_FIELD, invoice_id)

    async def get_sales_invoice(self, name: str) -> SalesInvoice:
        return await self._get(SalesInvoice, name)

    async def sales_invoices_of_subscription(self, subscription_id: str) -> list[SalesInvoice]:
        rows = await self.get_list(
            SalesInvoice.DOCTYPE,
            filters=[[SUBSCRIPTION_ID_FIELD, "=", subscription_id]],
            fields=("*",),
            order_by="posting_date asc",
            limit=0,
        )
        return [SalesInvoice.model_validate(row) for row in rows]

    async def create_sales_invoice(self, invoice: SalesInvoice) -> SalesInvoice:
        doc = await self.insert_once(SalesInvoice.DOCTYPE, INVOICE_ID_FIELD, invoice.payload())
        return SalesInvoice.model_validate(doc)

    async def submit_sales_invoice(self, name: str) -> SalesInvoice:
        return SalesInvoice.model_validate(await self.submit(SalesInvoice.DOCTYPE, name))

    async def find_payment_entry(self, payment_id: str) -> PaymentEntry | None:
        return await self._find(PaymentEntry, XENDIT_PAYMENT_ID_FIELD, payment_id)

    async def get_payment_entry(self, name: str) -> PaymentEntry:
        return await self._get(PaymentEntry, name)

    async def create_payment_entry(self, entry: PaymentEntry) -> PaymentEntry:
        doc = await self.insert_once(PaymentEntry.DOCTYPE, XENDIT_PAYMENT_ID_FIELD, entry.payload())
        return PaymentEntry.model_validate(doc)

    async def submit_payment_entry(self, name: str) -> PaymentEntry:
        return PaymentEntry.model_validate(await self.submit(PaymentEntry.DOCTYPE, name))

    async def find_credit_note(self, refund_id: str) -> SalesInvoice | None:
        """The return Sales Invoice booked for a Xendit refund (list row: no items)."""
        return await self._find(SalesInvoice, XENDIT_REFUND_ID_FIELD, refund_id)

    async def create_credit_note(self, credit_note: SalesInvoice) -> SalesInvoice:
        doc = await self.insert_once(SalesInvoice.DOCTYPE, XENDIT_REFUND_ID_FIELD, credit_note.payload())
        return SalesInvoice.model_validate(doc)

    async def credit_notes_against(self, name: str) -> list[SalesInvoice]:
        """The submitted credit notes that return Sales Invoice ``name``, each read whole (rows too)."""
        rows = await self.get_list(
            SalesInvoice.DOCTYPE,
            filters=[["return_against", "=", name], ["is_return", "=", 1], ["docstatus", "=", 1]],
            limit=0,
        )
        return [await self.get_sales_invoice(str(row["name"])) for row in rows]

    async def find_refund_entry(self, refund_id: str) -> PaymentEntry | None:
        """The ``Pay`` Payment Entry that paid a Xendit refund out."""
        return await self._find(PaymentEntry, XENDIT_REFUND_ID_FIELD, refund_id)

    async def create_refund_entry(self, entry: PaymentEntry) -> PaymentEntry:
        doc = await self.insert_once(PaymentEntry.DOCTYPE, XENDIT_REFUND_ID_FIELD, entry.payload())
        return PaymentEntry.model_validate(doc)

    async def comment_once(self, doctype: str, name: str, content: str, *, marker: str) -> Comment:
        """Add a comment to a document unless one containing ``marker`` is already there.

        Comments have no unique field; the per-customer FIFO order means no two writers race here,
        and the look-up after a lost answer covers the commit-then-fail case.
        """
        filters = [
            ["reference_doctype", "=", doctype],
            ["reference_name", "=", name],
            ["content", "like", f"%{marker}%"],
        ]

        async def existing() -> Comment | None:
            rows = await self.get_list(Comment.DOCTYPE, filters=filters, fields=("*",), limit=1)
            return Comment.model_validate(rows[0]) if rows else None

        found = await existing()
        if found is not None:
            return found
        comment = Comment(reference_doctype=doctype, reference_name=name, content=content)
        try:
            return Comment.model_validate(await self.insert(Comment.DOCTYPE, comment.payload()))
        except RateLimited:
            raise
        except RetryableError:
            found = await existing()
            if found is not None:
                return found
            raise


def _data(body: Any) -> Any:
    if isinstance(body, dict) and "data" in body:
        return body["data"]
    raise PermanentError(f"{SYSTEM}: unexpected response without 'data': {str(body)[:200]}")


def _document(body: Any) -> Doc:
    data = _data(body)
    if not isinstance(data, dict):
        raise PermanentError(f"{SYSTEM}: expected a document, got {str(data)[:200]}")
    return data
