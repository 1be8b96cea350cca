"""The custom fields Lovia Billing needs in ERPNext, and their idempotent creation through the API.

Each external id lives in a ``Data`` field with ``unique`` (a database unique index: a second insert
answers 417 ``UniqueValidationError``) and ``no_copy`` (an amended copy does not inherit it, so
cancel-and-amend does not collide). ``billing erpnext setup`` calls ``ensure_custom_fields``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from lovia_billing.clients.erpnext._errors import ErpnextConflict

if TYPE_CHECKING:
    from lovia_billing.clients.erpnext._client import ErpnextClient

CUSTOMER_ID_FIELD = "custom_lovia_customer_id"
INVOICE_ID_FIELD = "custom_lovia_invoice_id"
SUBSCRIPTION_ID_FIELD = "custom_lovia_subscription_id"
XENDIT_INVOICE_ID_FIELD = "custom_xendit_invoice_id"
XENDIT_PAYMENT_ID_FIELD = "custom_xendit_payment_id"
#: On the credit note (a return Sales Invoice) and on the Payment Entry that pays it out.
XENDIT_REFUND_ID_FIELD = "custom_xendit_refund_id"


@dataclass(frozen=True)
class CustomFieldSpec:
    dt: str
    fieldname: str
    label: str
    insert_after: str
    unique: bool = False
    fieldtype: str = "Data"

    @property
    def name(self) -> str:
        """Frappe names a Custom Field ``"<DocType>-<fieldname>"``."""
        return f"{self.dt}-{self.fieldname}"

    def document(self) -> dict[str, Any]:
        return {
            "dt": self.dt,
            "fieldname": self.fieldname,
            "label": self.label,
            "fieldtype": self.fieldtype,
            "insert_after": self.insert_after,
            "unique": int(self.unique),
            "no_copy": 1,
            "read_only": 1,
            "search_index": 1,
            "in_standard_filter": 1,
        }


CUSTOM_FIELDS: tuple[CustomFieldSpec, ...] = (
    CustomFieldSpec("Customer", CUSTOMER_ID_FIELD, "Lovia Customer ID", "customer_name", unique=True),
    CustomFieldSpec("Sales Invoice", INVOICE_ID_FIELD, "Lovia Invoice ID", "customer", unique=True),
    CustomFieldSpec("Sales Invoice", SUBSCRIPTION_ID_FIELD, "Lovia Subscription ID", INVOICE_ID_FIELD),
    CustomFieldSpec("Sales Invoice", XENDIT_INVOICE_ID_FIELD, "Xendit Invoice ID", SUBSCRIPTION_ID_FIELD),
    CustomFieldSpec(
        "Sales Invoice", XENDIT_REFUND_ID_FIELD, "Xendit Refund ID", XENDIT_INVOICE_ID_FIELD, unique=True
    ),
    CustomFieldSpec(
        "Payment Entry", XENDIT_PAYMENT_ID_FIELD, "Xendit Payment ID", "reference_no", unique=True
    ),
    CustomFieldSpec(
        "Payment Entry", XENDIT_REFUND_ID_FIELD, "Xendit Refund ID", XENDIT_PAYMENT_ID_FIELD, unique=True
    ),
)

#: What ``ensure_custom_fields`` did to each field, by Custom Field name.
Outcome = Literal["created", "updated", "unchanged"]
_CHECKED = ("fieldtype", "unique", "no_copy")


async def ensure_custom_fields(
    client: ErpnextClient, specs: tuple[CustomFieldSpec, ...] = CUSTOM_FIELDS
) -> dict[str, Outcome]:
    """Create the custom fields that are missing and fix the ones whose type or flags differ.

    Safe to run any number of times and concurrently: a field created meanwhile is re-read.
    The API user needs the System Manager role for this (only here, not for the consumer).
    """
    outcomes: dict[str, Outcome] = {}
    for spec in specs:
        wanted = spec.document()
        existing = await client.get_doc("Custom Field", spec.name)
        if existing is None:
            try:
                await client.insert("Custom Field", wanted)
                outcomes[spec.name] = "created"
                continue
            except ErpnextConflict:
                existing = await client.get_doc("Custom Field", spec.name)
                if existing is None:
                    raise
        changes = {key: wanted[key] for key in _CHECKED if existing.get(key) != wanted[key]}
        if changes:
            await client.update("Custom Field", spec.name, changes)
            outcomes[spec.name] = "updated"
        else:
            outcomes[spec.name] = "unchanged"
    return outcomes
