"""DocType behaviour (ERPNext's controllers, reduced to what a billing integration meets).

* Customer: named after ``customer_name``; a clash renames to ``"<name> - <n>"`` with an alert, never 409.
* Sales Invoice: items priced from the request, totals, rounding, outstanding and status; posting
  date forced to today unless ``set_posting_time``; due date not before posting date; credit notes
  (``is_return``) checked against the invoice they return (``_invoices``).
* Payment Entry: ``Receive`` from or ``Pay`` to a party, accounts, bank reference, references
  validated against submitted invoices of the same customer with enough outstanding (negative for a
  credit note paid out); submit/cancel move the invoices' outstanding.
* Custom Field: ``custom_`` fieldname from the label, named ``"<DocType>-<fieldname>"``.
"""

from __future__ import annotations

import re
import secrets
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from billing_sandboxes.erpnext._errors import FrappeError, plain_message
from billing_sandboxes.erpnext._invoices import (
    apply_return,
    invoice_total,
    opening_outstanding,
    refresh_status,
    validate_return,
)
from billing_sandboxes.erpnext._meta import DOCTYPES, DocTypeMeta

if TYPE_CHECKING:
    from billing_sandboxes.erpnext._store import Store

Doc = dict[str, Any]
CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Currency precision 2, banker's rounding (Frappe's default rounding method)."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def _num(value: Any) -> Decimal:
    from billing_sandboxes.erpnext._store import to_decimal

    return to_decimal(value)


class Controller:
    """Defaults: a plain DocType named by its ``field:`` rule or a hash. One instance per operation."""

    def __init__(self, store: Store, meta: DocTypeMeta) -> None:
        self.store = store
        self.meta = meta

    def set_missing(self, doc: Doc) -> None:
        """Nothing to do for a plain DocType."""

    def validate(self, doc: Doc) -> None:
        """Nothing to do for a plain DocType."""

    def autoname(self, doc: Doc) -> tuple[str, list[Doc]]:
        if self.meta.autoname.startswith("series:"):
            return self.store.next_in_series(self.meta.autoname.removeprefix("series:")), []
        if self.meta.autoname.startswith("field:"):
            return str(doc[self.meta.autoname.removeprefix("field:")]).strip(), []
        return secrets.token_hex(5), []

    def on_submit(self, doc: Doc) -> None:
        """Nothing to do for a plain DocType."""

    def on_cancel(self, doc: Doc) -> None:
        self.check_links(doc)

    def set_status(self, doc: Doc) -> None:
        """Nothing to do for a plain DocType."""

    def check_links(self, doc: Doc) -> None:
        """``LinkExistsError`` if a live document links here (F15 ``check_if_doc_is_linked``)."""
        for meta in DOCTYPES.values():
            for link in meta.links:
                if link.target != doc["doctype"]:
                    continue
                for other in self.store.all(meta.name):
                    if other.get(link.fieldname) == doc["name"] and other["docstatus"] != 2:
                        _linked(doc, meta.name, other["name"])
        for entry in self.store.all("Payment Entry"):
            if entry["docstatus"] != 1:
                continue
            party_link = doc["doctype"] == "Customer" and entry.get("party") == doc["name"]
            ref_link = any(
                ref.get("reference_doctype") == doc["doctype"] and ref.get("reference_name") == doc["name"]
                for ref in entry.get("references") or []
            )
            if party_link or ref_link:
                _linked(doc, "Payment Entry", entry["name"])


def _linked(doc: Doc, other_doctype: str, other_name: str) -> None:
    raise FrappeError(
        "LinkExistsError",
        f"Cannot delete or cancel because {doc['doctype']} {doc['name']} "
        f"is linked with {other_doctype} {other_name}",
    )


class CustomerController(Controller):
    def set_missing(self, doc: Doc) -> None:
        doc.setdefault("customer_type", "Company")
        doc.setdefault("customer_group", "All Customer Groups")
        doc.setdefault("territory", "All Territories")
        doc.setdefault("disabled", 0)

    def validate(self, doc: Doc) -> None:
        options = ("Company", "Individual", "Partnership")
        if doc.get("customer_type") not in options:
            raise FrappeError(
                "ValidationError",
                f'Customer Type cannot be "{doc.get("customer_type")}". It should be one of "Company", '
                '"Individual", "Partnership"',
            )

    def autoname(self, doc: Doc) -> tuple[str, list[Doc]]:
        wanted = str(doc["customer_name"]).strip()
        if not self.store.exists("Customer", wanted):
            return wanted, []
        suffix = re.compile(rf"^{re.escape(wanted)} - (\d+)$")
        taken = [int(m.group(1)) for name in self.store.docs["Customer"] if (m := suffix.match(name))]
        renamed = f"{wanted} - {max(taken, default=0) + 1}"
        alert = plain_message(
            f"Changed customer name to '{renamed}' as '{wanted}' already exists.",
            title="Note",
            indicator="yellow",
            alert=1,
        )
        return renamed, [alert]


class SalesInvoiceController(Controller):
    def set_missing(self, doc: Doc) -> None:
        company = self.store.docs["Company"].get(doc.get("company") or self.store.config.company)
        if company is None:
            return  # the link check names the unknown company
        doc.setdefault("company", company["name"])
        doc.setdefault("naming_series", "ACC-SINV-.YYYY.-")
        now = self.store.now()
        if not doc.get("set_posting_time"):
            doc["posting_date"] = now.date().isoformat()
            doc["posting_time"] = now.strftime("%H:%M:%S.%f")
        doc.setdefault("posting_time", now.strftime("%H:%M:%S.%f"))
        doc["due_date"] = doc.get("due_date") or doc.get("posting_date")
        doc["currency"] = doc.get("currency") or company["default_currency"]
        if not doc.get("conversion_rate"):
            doc["conversion_rate"] = Decimal(1)
        doc["debit_to"] = doc.get("debit_to") or company["default_receivable_account"]
        doc.setdefault("selling_price_list", "Standard Selling")
        doc.setdefault("price_list_currency", doc["currency"])
        doc.setdefault("is_pos", 0)
        doc.setdefault("is_return", 0)
        doc.setdefault("update_outstanding_for_self", 1)  # the v15 field's default
        doc.setdefault("disable_rounded_total", 0)
        if doc.get("customer") and self.store.exists("Customer", doc["customer"]):
            doc["customer_name"] = self.store.raw("Customer", doc["customer"]).get("customer_name")
        total, qty = Decimal(0), Decimal(0)
        for row in doc.get("items") or []:
            item = self.store.docs["Item"].get(row.get("item_code") or "")
            if item is not None:
                row.setdefault("item_name", item.get("item_name"))
                row.setdefault("description", item.get("description"))
                row.setdefault("uom", item.get("stock_uom"))
            row["conversion_factor"] = row.get("conversion_factor") or Decimal(1)
            row["income_account"] = row.get("income_account") or company["default_income_account"]
            row["cost_center"] = row.get("cost_center") or company["cost_center"]
            row["qty"] = _num(row.get("qty"))
            row["rate"] = money(_num(row.get("rate")))
            row["amount"] = money(row["qty"] * row["rate"])
            row["base_rate"] = money(row["rate"] * doc["conversion_rate"])
            row["base_amount"] = money(row["amount"] * doc["conversion_rate"])
            total += row["amount"]
            qty += row["qty"]
        doc["total_qty"] = qty
        doc["total"] = doc["net_total"] = doc["grand_total"] = money(total)
        doc["base_grand_total"] = money(total * doc["conversion_rate"])
        if doc["disable_rounded_total"]:
            doc["rounded_total"], doc["rounding_adjustment"] = Decimal(0), Decimal(0)
        else:
            doc["rounded_total"] = money(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))
            doc["rounding_adjustment"] = doc["rounded_total"] - doc["grand_total"]
        doc["outstanding_amount"] = opening_outstanding(doc)

    def validate(self, doc: Doc) -> None:
        if str(doc.get("due_date")) < str(doc.get("posting_date")):
            raise FrappeError("ValidationError", "Due Date cannot be before Posting / Supplier Invoice Date")
        account = self.store.docs["Account"].get(doc.get("debit_to") or "")
        if account and account.get("account_currency") != doc.get("currency"):
            raise FrappeError(
                "ValidationError",
                f"Party Account {account['name']} currency ({account.get('account_currency')}) and document "
                f"currency ({doc.get('currency')}) should be same",
            )
        if doc.get("is_return"):
            validate_return(self.store, doc)

    def on_submit(self, doc: Doc) -> None:
        apply_return(self.store, doc, sign=1)

    def on_cancel(self, doc: Doc) -> None:
        self.check_links(doc)
        apply_return(self.store, doc, sign=-1)

    def set_status(self, doc: Doc) -> None:
        refresh_status(self.store, doc)


def _party_account_field(doc: Doc) -> str | None:
    """The receivable side: ``paid_from`` when receiving from a customer, ``paid_to`` when paying one."""
    return {"Receive": "paid_from", "Pay": "paid_to"}.get(str(doc.get("payment_type")))


def _bank_account_field(doc: Doc) -> str:
    return "paid_from" if doc.get("payment_type") == "Pay" else "paid_to"


class PaymentEntryController(Controller):
    def set_missing(self, doc: Doc) -> None:
        company = self.store.docs["Company"].get(doc.get("company") or self.store.config.company)
        if company is None:
            return
        doc.setdefault("company", company["name"])
        doc.setdefault("naming_series", "ACC-PAY-.YYYY.-")
        doc["posting_date"] = doc.get("posting_date") or self.store.today().isoformat()
        party = str(doc.get("party") or "")
        if doc.get("party_type") == "Customer" and self.store.exists("Customer", party):
            doc["party_name"] = self.store.raw("Customer", party).get("customer_name")
        party_field = _party_account_field(doc)
        if party_field:  # the party's receivable account, as get_party_account finds it
            doc[party_field] = doc.get(party_field) or company["default_receivable_account"]
        for side in ("paid_from", "paid_to"):
            account = self.store.docs["Account"].get(doc.get(side) or "")
            if account is not None:
                doc[f"{side}_account_currency"] = account.get("account_currency")
        doc["paid_amount"] = money(_num(doc.get("paid_amount")))
        doc["received_amount"] = money(_num(doc.get("received_amount"))) or doc["paid_amount"]
        doc["source_exchange_rate"] = doc.get("source_exchange_rate") or Decimal(1)
        doc["target_exchange_rate"] = doc.get("target_exchange_rate") or Decimal(1)
        for ref in doc.get("references") or []:
            ref["allocated_amount"] = money(_num(ref.get("allocated_amount")))
            invoices = self.store.docs.get(ref.get("reference_doctype") or "", {})
            invoice = invoices.get(ref.get("reference_name") or "")
            if invoice is not None:
                ref["total_amount"] = invoice_total(invoice)
                ref["outstanding_amount"] = _num(invoice.get("outstanding_amount"))
                ref["due_date"] = invoice.get("due_date")
                ref["exchange_rate"] = invoice.get("conversion_rate") or Decimal(1)
        for row in doc.get("deductions") or []:
            row["amount"] = money(_num(row.get("amount")))
        self._set_amounts(doc)

    @staticmethod
    def _set_amounts(doc: Doc) -> None:
        """v15 ``set_total_allocated_amount``/``set_unallocated_amount``/``set_difference_amount``,
        single currency: allocations to credit notes are negative, the total is their absolute sum."""
        references = doc.get("references") or []
        allocated = abs(sum((_num(ref["allocated_amount"]) for ref in references), Decimal(0)))
        deductions = sum((row["amount"] for row in doc.get("deductions") or []), Decimal(0))
        paid, received = doc["paid_amount"], doc["received_amount"]
        unallocated = Decimal(0)
        if doc.get("payment_type") == "Receive":
            if allocated < received + deductions:
                unallocated = received + deductions - allocated
            difference = allocated + unallocated - received - deductions
        elif doc.get("payment_type") == "Pay":
            if allocated < paid - deductions:
                unallocated = paid - deductions - allocated
            difference = paid - (allocated + unallocated) - deductions
        else:
            difference = paid - received - deductions
        doc["total_allocated_amount"] = allocated
        doc["unallocated_amount"] = unallocated
        doc["difference_amount"] = difference

    def validate(self, doc: Doc) -> None:
        payment_type = doc.get("payment_type")
        if payment_type not in ("Receive", "Pay", "Internal Transfer"):
            raise FrappeError(
                "ValidationError",
                f'Payment Type cannot be "{payment_type}". It should be one of "Receive", "Pay", '
                '"Internal Transfer"',
            )
        if payment_type in ("Receive", "Pay"):
            if not doc.get("party_type"):
                raise FrappeError("ValidationError", "Party Type is mandatory")
            if not doc.get("party"):
                raise FrappeError("ValidationError", "Party is mandatory")
            if not self.store.exists(doc["party_type"], doc["party"]):
                raise FrappeError("LinkValidationError", f"Could not find Party: {doc['party']}")
        bank_field = _bank_account_field(doc)
        bank = self.store.docs["Account"].get(doc.get(bank_field) or "")
        bank_or_cash = bank is None or bank.get("account_type") in ("Bank", "Cash")
        if payment_type in ("Receive", "Pay") and not bank_or_cash:
            message = f"Account Type for {doc[bank_field]} must be 'Bank' or 'Cash'"
            raise FrappeError("ValidationError", message)
        for field, label in (("paid_amount", "Paid Amount"), ("received_amount", "Received Amount")):
            if not doc.get(field):
                raise FrappeError("ValidationError", f"{label} is mandatory")
        self._validate_references(doc)
        is_bank = bank is not None and bank.get("account_type") == "Bank"
        if is_bank and not (doc.get("reference_no") and doc.get("reference_date")):
            raise FrappeError(
                "ValidationError", "Reference No and Reference Date is mandatory for Bank transaction"
            )
        self._validate_allocations(doc)
        if doc["docstatus"] == 1 and doc["difference_amount"] != 0:
            raise FrappeError("ValidationError", "Difference Amount must be zero")

    def _validate_references(self, doc: Doc) -> None:
        """v15 ``validate_reference_documents`` and ``validate_duplicate_entry``."""
        seen: set[tuple[str, str]] = set()
        party_account = doc.get(_party_account_field(doc) or "paid_from")
        for idx, ref in enumerate(doc.get("references") or [], start=1):
            dt, dn = ref.get("reference_doctype"), ref.get("reference_name")
            if (dt, dn) in seen:
                raise FrappeError("ValidationError", f"Row #{idx}: Duplicate entry in References {dt} {dn}")
            seen.add((dt, dn))
            if dt != "Sales Invoice":
                message = f"Reference Doctype must be one of Sales Invoice, got {dt}"
                raise FrappeError("ValidationError", message)
            invoice = self.store.docs["Sales Invoice"].get(dn or "")
            if invoice is None:
                raise FrappeError("ValidationError", f"{dt} {dn} does not exist")
            if invoice["docstatus"] != 1:
                raise FrappeError("ValidationError", f"{dt} {dn} must be submitted")
            if invoice.get("customer") != doc.get("party"):
                raise FrappeError(
                    "ValidationError",
                    f"{dt} {dn} is not associated with {doc.get('party_type')} {doc.get('party')}",
                )
            if invoice.get("debit_to") != party_account:
                raise FrappeError(
                    "ValidationError",
                    f"Party Account {party_account} does not match {invoice.get('debit_to')} of {dt} {dn}",
                )

    def _validate_allocations(self, doc: Doc) -> None:
        """v15 ``validate_payment_type_with_outstanding`` and ``validate_allocated_amount``: a positive
        allocation up to a positive outstanding, a negative one (paying out a credit note) down to a
        negative outstanding, nothing to a document with none left."""
        references = doc.get("references") or []
        total = sum((_num(ref["allocated_amount"]) for ref in references), Decimal(0))
        if total < 0 and doc.get("party_type") == "Customer" and doc.get("payment_type") == "Receive":
            raise FrappeError("ValidationError", "Cannot receive from customer against negative outstanding")
        for idx, ref in enumerate(references, start=1):
            allocated = _num(ref["allocated_amount"])
            if not allocated:
                continue
            invoice = self.store.raw("Sales Invoice", ref["reference_name"])
            outstanding = _num(invoice.get("outstanding_amount"))
            if not outstanding:
                message = f"{ref['reference_doctype']} {ref['reference_name']} has already been fully paid."
                raise FrappeError("ValidationError", message)
            if (allocated > 0 and allocated > outstanding) or (allocated < 0 and allocated < outstanding):
                message = f"Row #{idx}: Allocated Amount cannot be greater than outstanding amount."
                raise FrappeError("ValidationError", message)

    def on_submit(self, doc: Doc) -> None:
        self._apply(doc, sign=-1)

    def on_cancel(self, doc: Doc) -> None:
        self._apply(doc, sign=1)

    def _apply(self, doc: Doc, *, sign: int) -> None:
        for ref in doc.get("references") or []:
            invoice = self.store.raw("Sales Invoice", ref["reference_name"])
            allocated = sign * _num(ref["allocated_amount"])
            invoice["outstanding_amount"] = _num(invoice["outstanding_amount"]) + allocated
            refresh_status(self.store, invoice)
            self.store.stamp(invoice)

    def set_status(self, doc: Doc) -> None:
        doc["status"] = {0: "Draft", 1: "Submitted", 2: "Cancelled"}[doc["docstatus"]]


class CustomFieldController(Controller):
    def set_missing(self, doc: Doc) -> None:
        if not doc.get("fieldname") and doc.get("label"):
            label = str(doc["label"]).replace(" ", "_")
            doc["fieldname"] = "custom_" + "".join(ch for ch in label if ch.isalnum() or ch == "_")
        if doc.get("fieldname"):
            doc["fieldname"] = str(doc["fieldname"]).lower()
        doc.setdefault("fieldtype", "Data")
        for check in ("unique", "no_copy", "read_only", "search_index"):
            doc.setdefault(check, 0)

    def validate(self, doc: Doc) -> None:
        if not doc.get("fieldname"):
            raise FrappeError("ValidationError", "Label is mandatory")
        if doc.get("dt") not in DOCTYPES:
            raise FrappeError("LinkValidationError", f"Could not find DocType: {doc.get('dt')}")

    def autoname(self, doc: Doc) -> tuple[str, list[Doc]]:
        return f"{doc['dt']}-{doc['fieldname']}", []


class CommentController(Controller):
    def set_missing(self, doc: Doc) -> None:
        doc.setdefault("comment_type", "Comment")
        doc.setdefault("comment_email", self.store.config.user)

    def validate(self, doc: Doc) -> None:
        dt, dn = doc.get("reference_doctype"), doc.get("reference_name")
        if dt and dn and not self.store.exists(dt, dn):
            raise FrappeError("LinkValidationError", f"Could not find Reference Name: {dn}")


_CONTROLLERS: dict[str, type[Controller]] = {
    "Customer": CustomerController,
    "Sales Invoice": SalesInvoiceController,
    "Payment Entry": PaymentEntryController,
    "Custom Field": CustomFieldController,
    "Comment": CommentController,
}


def controller_for(store: Store, meta: DocTypeMeta) -> Controller:
    return _CONTROLLERS.get(meta.name, Controller)(store, meta)
