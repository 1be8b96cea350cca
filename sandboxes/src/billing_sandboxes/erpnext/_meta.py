"""What the sandbox knows of each DocType: naming, mandatory fields, links, child tables, numbers.

A small, explicit subset of ERPNext v15's DocType JSONs (ref/erpnext.md §6): enough for customers,
sales invoices, payment entries, comments and custom fields, and the masters they link to.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    fieldname: str
    label: str
    target: str


@dataclass(frozen=True)
class TableMeta:
    """A child DocType, as a table field of its parent."""

    doctype: str
    mandatory: tuple[tuple[str, str], ...] = ()
    links: tuple[Link, ...] = ()
    numbers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DocTypeMeta:
    name: str
    #: ``series:<prefix>`` (``.YYYY.`` expanded, five digits), ``field:<fieldname>``, ``hash``,
    #: ``customer`` (name from customer_name, renamed on clash) or ``custom_field`` (``dt-fieldname``).
    autoname: str
    submittable: bool = False
    mandatory: tuple[tuple[str, str], ...] = ()
    links: tuple[Link, ...] = ()
    tables: dict[str, TableMeta] = field(default_factory=dict)
    numbers: frozenset[str] = frozenset()
    checks: frozenset[str] = frozenset()
    #: Fields that may change on a submitted document.
    allow_on_submit: frozenset[str] = frozenset()


_SI_ITEM = TableMeta(
    "Sales Invoice Item",
    mandatory=(("item_code", "Item"), ("qty", "Quantity")),
    links=(Link("item_code", "Item Code", "Item"), Link("income_account", "Income Account", "Account")),
    numbers=frozenset({"qty", "rate", "amount", "base_rate", "base_amount", "conversion_factor"}),
)
_PE_REFERENCE = TableMeta(
    "Payment Entry Reference",
    mandatory=(("reference_doctype", "Type"), ("reference_name", "Name")),
    numbers=frozenset({"total_amount", "outstanding_amount", "allocated_amount", "exchange_rate"}),
)
_PE_DEDUCTION = TableMeta(
    "Payment Entry Deduction",
    mandatory=(("account", "Account"), ("cost_center", "Cost Center"), ("amount", "Amount")),
    links=(Link("account", "Account", "Account"), Link("cost_center", "Cost Center", "Cost Center")),
    numbers=frozenset({"amount"}),
)

DOCTYPES: dict[str, DocTypeMeta] = {
    meta.name: meta
    for meta in (
        DocTypeMeta(
            "Customer",
            "customer",
            mandatory=(("customer_name", "Customer Name"), ("customer_type", "Customer Type")),
            links=(
                Link("customer_group", "Customer Group", "Customer Group"),
                Link("territory", "Territory", "Territory"),
                Link("default_currency", "Billing Currency", "Currency"),
            ),
            checks=frozenset({"disabled"}),
        ),
        DocTypeMeta(
            "Sales Invoice",
            "series:ACC-SINV-.YYYY.-",
            submittable=True,
            mandatory=(
                ("customer", "Customer"),
                ("company", "Company"),
                ("posting_date", "Date"),
                ("currency", "Currency"),
                ("debit_to", "Debit To"),
                ("items", "Items"),
            ),
            links=(
                Link("customer", "Customer", "Customer"),
                Link("company", "Company", "Company"),
                Link("currency", "Currency", "Currency"),
                Link("debit_to", "Debit To", "Account"),
                Link("return_against", "Return Against", "Sales Invoice"),
            ),
            tables={"items": _SI_ITEM},
            numbers=frozenset(
                {
                    "conversion_rate",
                    "total",
                    "net_total",
                    "grand_total",
                    "base_grand_total",
                    "rounded_total",
                    "rounding_adjustment",
                    "outstanding_amount",
                    "total_qty",
                }
            ),
            checks=frozenset(
                {
                    "set_posting_time",
                    "disable_rounded_total",
                    "is_pos",
                    "is_return",
                    "update_outstanding_for_self",
                }
            ),
            allow_on_submit=frozenset({"remarks"}),
        ),
        DocTypeMeta(
            "Payment Entry",
            "series:ACC-PAY-.YYYY.-",
            submittable=True,
            mandatory=(
                ("payment_type", "Payment Type"),
                ("company", "Company"),
                ("posting_date", "Posting Date"),
                ("paid_from", "Account Paid From"),
                ("paid_to", "Account Paid To"),
            ),
            links=(
                Link("company", "Company", "Company"),
                Link("mode_of_payment", "Mode of Payment", "Mode of Payment"),
                Link("paid_from", "Account Paid From", "Account"),
                Link("paid_to", "Account Paid To", "Account"),
            ),
            tables={"references": _PE_REFERENCE, "deductions": _PE_DEDUCTION},
            numbers=frozenset(
                {
                    "paid_amount",
                    "received_amount",
                    "source_exchange_rate",
                    "target_exchange_rate",
                    "total_allocated_amount",
                    "unallocated_amount",
                    "difference_amount",
                }
            ),
        ),
        DocTypeMeta(
            "Comment",
            "hash",
            mandatory=(("comment_type", "Comment Type"),),
        ),
        DocTypeMeta(
            "Custom Field",
            "custom_field",
            mandatory=(("dt", "DocType"), ("fieldtype", "Field Type")),
            checks=frozenset({"unique", "no_copy", "read_only", "search_index", "in_standard_filter"}),
        ),
        DocTypeMeta("Company", "field:company_name", mandatory=(("company_name", "Company"),)),
        DocTypeMeta("Account", "hash", mandatory=(("account_name", "Account Name"),)),
        DocTypeMeta("Cost Center", "hash", mandatory=(("cost_center_name", "Cost Center Name"),)),
        DocTypeMeta(
            "Mode of Payment", "field:mode_of_payment", mandatory=(("mode_of_payment", "Mode of Payment"),)
        ),
        DocTypeMeta(
            "Item", "field:item_code", mandatory=(("item_code", "Item Code"), ("item_group", "Item Group"))
        ),
        DocTypeMeta(
            "Item Group", "field:item_group_name", mandatory=(("item_group_name", "Item Group Name"),)
        ),
        DocTypeMeta("UOM", "field:uom_name", mandatory=(("uom_name", "UOM Name"),)),
        DocTypeMeta("Currency", "field:currency_name", mandatory=(("currency_name", "Currency Name"),)),
        DocTypeMeta(
            "Customer Group",
            "field:customer_group_name",
            mandatory=(("customer_group_name", "Customer Group Name"),),
        ),
        DocTypeMeta("Territory", "field:territory_name", mandatory=(("territory_name", "Territory Name"),)),
        DocTypeMeta(
            "Price List", "field:price_list_name", mandatory=(("price_list_name", "Price List Name"),)
        ),
    )
}

#: Fields every document has, maintained by the framework, never taken from a request body.
SYSTEM_FIELDS = frozenset(
    {"name", "owner", "creation", "modified", "modified_by", "idx", "doctype", "docstatus"}
)
CHILD_SYSTEM_FIELDS = SYSTEM_FIELDS | {"parent", "parentfield", "parenttype"}
