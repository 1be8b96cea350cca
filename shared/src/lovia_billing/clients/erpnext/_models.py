"""Typed ERPNext documents: what erpnext_sync sends and the fields it reads back.

Money is ``Decimal`` both ways: responses are parsed with ``parse_float=Decimal`` and payloads are
dumped as decimal strings, which Frappe casts with ``flt`` like any number. Unknown fields in
responses are ignored; computed fields (totals, status) are never sent.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Document(_Row):
    """Fields every ERPNext document has; ``DOCTYPE`` names its resource path."""

    DOCTYPE: ClassVar[str] = ""
    #: Filled in by ERPNext; never sent.
    COMPUTED: ClassVar[frozenset[str]] = frozenset()

    name: str | None = None
    docstatus: int = 0
    modified: str | None = None

    @property
    def is_draft(self) -> bool:
        return self.docstatus == 0

    @property
    def is_submitted(self) -> bool:
        return self.docstatus == 1

    @property
    def is_cancelled(self) -> bool:
        return self.docstatus == 2

    def payload(self) -> dict[str, Any]:
        """The body for an insert: no name, no timestamps, nothing ERPNext computes, no nulls."""
        exclude = {"name", "modified", *self.COMPUTED}
        return self.model_dump(mode="json", exclude_none=True, exclude=exclude)


class Customer(Document):
    DOCTYPE = "Customer"

    customer_name: str
    customer_type: Literal["Company", "Individual", "Partnership"] = "Company"
    customer_group: str | None = None
    territory: str | None = None
    email_id: str | None = None
    mobile_no: str | None = None
    disabled: int = 0
    custom_lovia_customer_id: str | None = None


class SalesInvoiceItem(_Row):
    item_code: str
    qty: Decimal = Field(description="negative on a credit note")
    rate: Decimal
    description: str | None = None
    amount: Decimal | None = None
    #: The row's own name (read back; a credit note row names the original row it returns).
    name: str | None = None
    sales_invoice_item: str | None = None


class SalesInvoice(Document):
    DOCTYPE = "Sales Invoice"
    COMPUTED = frozenset({"grand_total", "rounded_total", "outstanding_amount", "status"})

    customer: str
    company: str | None = None
    currency: str | None = None
    posting_date: date | None = None
    posting_time: str | None = None
    set_posting_time: int = 0
    due_date: date | None = None
    disable_rounded_total: int | None = None
    remarks: str | None = None
    items: list[SalesInvoiceItem] = Field(default_factory=list)
    #: A credit note: ``is_return`` 1, ``return_against`` the invoice it credits, and (v15)
    #: ``update_outstanding_for_self`` 1 to carry its own negative outstanding until paid out.
    is_return: int = 0
    return_against: str | None = None
    update_outstanding_for_self: int | None = None
    debit_to: str | None = None
    custom_lovia_invoice_id: str | None = None
    custom_lovia_subscription_id: str | None = None
    custom_xendit_invoice_id: str | None = None
    custom_xendit_refund_id: str | None = None
    grand_total: Decimal | None = None
    rounded_total: Decimal | None = None
    outstanding_amount: Decimal | None = None
    status: str | None = None


class PaymentEntryReference(_Row):
    reference_doctype: str = "Sales Invoice"
    reference_name: str
    allocated_amount: Decimal = Field(description="negative when paying out a credit note")
    outstanding_amount: Decimal | None = None


class PaymentEntryDeduction(_Row):
    account: str
    cost_center: str
    amount: Decimal
    description: str | None = None


class PaymentEntry(Document):
    DOCTYPE = "Payment Entry"
    COMPUTED = frozenset({"total_allocated_amount", "unallocated_amount", "difference_amount", "status"})

    payment_type: Literal["Receive", "Pay", "Internal Transfer"] = "Receive"
    company: str | None = None
    posting_date: date | None = None
    mode_of_payment: str | None = None
    party_type: str = "Customer"
    party: str
    #: ``Receive``: the party's receivable → the bank; ``Pay``: the bank → the party's receivable.
    #: ERPNext fills the party's side from the party when it is left out.
    paid_from: str | None = None
    paid_to: str | None = None
    paid_amount: Decimal
    received_amount: Decimal
    reference_no: str | None = None
    reference_date: date | None = None
    remarks: str | None = None
    references: list[PaymentEntryReference] = Field(default_factory=list)
    deductions: list[PaymentEntryDeduction] = Field(default_factory=list)
    custom_xendit_payment_id: str | None = None
    custom_xendit_refund_id: str | None = None
    total_allocated_amount: Decimal | None = None
    unallocated_amount: Decimal | None = None
    difference_amount: Decimal | None = None
    status: str | None = None


class Comment(Document):
    DOCTYPE = "Comment"

    comment_type: str = "Comment"
    reference_doctype: str
    reference_name: str
    content: str
