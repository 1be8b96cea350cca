"""Sales Invoice rules shared by its controller and Payment Entry's: totals, status, credit notes.

Status follows ERPNext v15 ``SalesInvoice.set_status`` (first match wins): Overdue, Partly Paid,
Unpaid, Credit Note Issued (a submitted return exists against it), Return (it is one), Paid.

A credit note is a Sales Invoice with ``is_return: 1``, negative quantities, and usually
``return_against`` the invoice it credits (ERPNext ``controllers/sales_and_purchase_return.py``):

* ``return_against`` must be a submitted, non-return invoice of the same customer and company
  ("Invalid Return Against: X"; ERPNext's older rule, v15 only logs the mismatch: see docs/erpnext.md),
  posted no earlier, at the same exchange rate;
* only rows with a negative quantity count, at least one is needed; each must be an item of the
  original (the row itself when ``sales_invoice_item`` names it), for no more than its quantity
  still unreturned and at no higher rate;
* ``update_outstanding_for_self`` (v15, default 1): the credit note carries its own negative
  outstanding, settled by a ``Pay`` Payment Entry; with 0 it reduces the original's outstanding.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billing_sandboxes.erpnext._errors import FrappeError

if TYPE_CHECKING:
    from billing_sandboxes.erpnext._store import Store

Doc = dict[str, Any]


def _num(value: Any) -> Decimal:
    from billing_sandboxes.erpnext._store import to_decimal

    return to_decimal(value)


def invoice_total(doc: Doc) -> Decimal:
    """What the invoice is worth: the rounded total unless rounding is disabled (negative for returns)."""
    rounded = _num(doc.get("rounded_total"))
    return rounded if rounded and not doc.get("disable_rounded_total") else _num(doc.get("grand_total"))


def opening_outstanding(doc: Doc) -> Decimal:
    """Outstanding on submit: a return applied to its original carries none itself."""
    applied_to_original = doc.get("is_return") and doc.get("return_against")
    if applied_to_original and not doc.get("update_outstanding_for_self"):
        return Decimal(0)
    return invoice_total(doc)


def has_return(store: Store, name: str) -> bool:
    return any(
        other.get("is_return") and other.get("return_against") == name and other["docstatus"] == 1
        for other in store.all("Sales Invoice")
    )


def invoice_status(doc: Doc, today: str, *, credited: bool) -> str:
    """ERPNext v15's status; ``credited``: a submitted return exists against this invoice."""
    if doc["docstatus"] == 0:
        return "Draft"
    if doc["docstatus"] == 2:
        return "Cancelled"
    outstanding = _num(doc.get("outstanding_amount"))
    if outstanding > 0 and str(doc.get("due_date")) < today:
        return "Overdue"
    if 0 < outstanding < invoice_total(doc):
        return "Partly Paid"
    if outstanding > 0:
        return "Unpaid"
    if not doc.get("is_return") and credited:
        return "Credit Note Issued"
    if doc.get("is_return"):
        return "Return"
    return "Paid"


def refresh_status(store: Store, invoice: Doc) -> None:
    invoice["status"] = invoice_status(
        invoice, store.today().isoformat(), credited=has_return(store, invoice["name"])
    )


def _qty(value: Decimal) -> str:
    """How ERPNext prints a float quantity in its messages (``1.0``)."""
    return str(float(value))


def _posted(doc: Doc) -> datetime:
    return datetime.fromisoformat(f"{doc.get('posting_date')}T{doc.get('posting_time') or '00:00:00'}")


def validate_return(store: Store, doc: Doc) -> None:
    """The rules of a credit note against ``return_against`` (none for a standalone one)."""
    against = doc.get("return_against")
    if not against:
        return
    original = store.raw("Sales Invoice", against)  # the link check has already found it
    same_party = original.get("customer") == doc.get("customer") and original.get("company") == doc.get(
        "company"
    )
    if original["docstatus"] != 1 or original.get("is_return") or not same_party:
        raise FrappeError("ValidationError", f"Invalid Return Against: {against}")
    original_posted = _posted(original)
    if _posted(doc) < original_posted:
        shown = original_posted.strftime("%d-%m-%Y %H:%M:%S")  # Frappe's default date and time formats
        raise FrappeError("ValidationError", f"Posting timestamp must be after {shown}")
    if _num(doc.get("conversion_rate")) != _num(original.get("conversion_rate")):
        raise FrappeError(
            "ValidationError",
            f"Exchange Rate must be same as Sales Invoice {against} ({float(original['conversion_rate'])})",
        )
    _validate_returned_items(store, doc, original)


def _validate_returned_items(store: Store, doc: Doc, original: Doc) -> None:
    against = original["name"]
    # Quantities and rates of the original, by row and by item code.
    by_row = {row["name"]: row for row in original.get("items") or []}
    by_item: dict[str, tuple[Decimal, Decimal]] = {}
    for row in by_row.values():
        qty, rate = by_item.get(row["item_code"], (Decimal(0), Decimal(0)))
        by_item[row["item_code"]] = (qty + _num(row["qty"]), max(rate, _num(row["rate"])))
    returned_row: dict[str, Decimal] = {}
    returned_item: dict[str, Decimal] = {}
    for other in store.all("Sales Invoice"):
        if other["docstatus"] != 1 or not other.get("is_return") or other.get("return_against") != against:
            continue
        if other.get("name") == doc.get("name"):
            continue
        for row in other.get("items") or []:
            qty = abs(_num(row.get("qty")))
            returned_item[row["item_code"]] = returned_item.get(row["item_code"], Decimal(0)) + qty
            if row.get("sales_invoice_item"):
                key = row["sales_invoice_item"]
                returned_row[key] = returned_row.get(key, Decimal(0)) + qty
    returned_any = False
    for idx, row in enumerate(doc.get("items") or [], start=1):
        qty, item = _num(row.get("qty")), row.get("item_code")
        if qty >= 0:
            continue  # ERPNext only looks at the returned (negative) rows
        returned_any = True
        row_name = row.get("sales_invoice_item")
        if row_name:  # v15 keys the check on the original row when the return names it
            source = by_row.get(row_name)
            matches = source is not None and source["item_code"] == item
            limit = (_num(source["qty"]), _num(source["rate"])) if source and matches else None
            done = returned_row.get(row_name, Decimal(0))
        else:
            limit = by_item.get(str(item))
            done = returned_item.get(str(item), Decimal(0))
        if limit is None:
            raise FrappeError(
                "ValidationError",
                f"Row # {idx}: Returned Item {item} does not exist in Sales Invoice {against}",
            )
        invoiced, rate = limit
        if done >= invoiced:
            raise FrappeError("StockOverReturnError", f"Item {item} has already been returned")
        if abs(qty) > invoiced - done:
            raise FrappeError(
                "StockOverReturnError",
                f"Row # {idx}: Cannot return more than {_qty(invoiced - done)} for Item {item}",
            )
        if _num(row.get("rate")) > rate:
            raise FrappeError(
                "ValidationError",
                f"Row # {idx}: Rate cannot be greater than the rate used in Sales Invoice {against}",
            )
    if not returned_any:
        raise FrappeError(
            "ValidationError", "Atleast one item should be entered with negative quantity in return document"
        )


def apply_return(store: Store, doc: Doc, *, sign: int) -> None:
    """On submit (``sign=1``) or cancel (``-1``) of a credit note: the original's outstanding and status."""
    against = doc.get("return_against")
    if not (doc.get("is_return") and against and store.exists("Sales Invoice", against)):
        return
    original = store.raw("Sales Invoice", against)
    if not doc.get("update_outstanding_for_self"):
        original["outstanding_amount"] = _num(original["outstanding_amount"]) + sign * invoice_total(doc)
    refresh_status(store, original)
    store.stamp(original)
