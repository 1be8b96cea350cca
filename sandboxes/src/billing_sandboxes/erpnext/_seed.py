"""The sandbox's configuration and the master data a fresh ERPNext site would be set up with.

Defaults match ``erpnext_sync``'s settings defaults (company ``Lovia``, abbreviation ``LV``), so the
local stack works without any set-up step. Everything can be overridden from the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

#: The custom fields Lovia Billing relies on (see docs/erpnext.md); seeded unless told otherwise.
CUSTOM_FIELDS: tuple[dict[str, Any], ...] = (
    {"dt": "Customer", "fieldname": "custom_lovia_customer_id", "label": "Lovia Customer ID", "unique": 1},
    {"dt": "Sales Invoice", "fieldname": "custom_lovia_invoice_id", "label": "Lovia Invoice ID", "unique": 1},
    {"dt": "Sales Invoice", "fieldname": "custom_lovia_subscription_id", "label": "Lovia Subscription ID"},
    {"dt": "Sales Invoice", "fieldname": "custom_xendit_invoice_id", "label": "Xendit Invoice ID"},
    {"dt": "Sales Invoice", "fieldname": "custom_xendit_refund_id", "label": "Xendit Refund ID", "unique": 1},
    {
        "dt": "Payment Entry",
        "fieldname": "custom_xendit_payment_id",
        "label": "Xendit Payment ID",
        "unique": 1,
    },
    {"dt": "Payment Entry", "fieldname": "custom_xendit_refund_id", "label": "Xendit Refund ID", "unique": 1},
)

DEFAULT_ITEMS = ("PLAN-STARTER", "PLAN-PRO", "PLAN-BUSINESS")


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class SandboxConfig:
    """How one ERPNext sandbox is set up; ``from_env`` reads ``ERPNEXT_SANDBOX_*``."""

    api_key: str = "local-erpnext-key"
    api_secret: str = "local-erpnext-secret"  # noqa: S105 - the sandbox's made-up local secret
    user: str = "lovia-billing@example.com"
    company: str = "Lovia"
    abbr: str = "LV"
    currency: str = "IDR"
    time_zone: str = "Asia/Jakarta"
    items: tuple[str, ...] = DEFAULT_ITEMS
    seed_custom_fields: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: Any) -> SandboxConfig:
        env = os.environ.get
        values: dict[str, Any] = {
            "api_key": env("ERPNEXT_SANDBOX_API_KEY", cls.api_key),
            "api_secret": env("ERPNEXT_SANDBOX_API_SECRET", cls.api_secret),
            "company": env("ERPNEXT_SANDBOX_COMPANY", cls.company),
            "abbr": env("ERPNEXT_SANDBOX_COMPANY_ABBR", cls.abbr),
            "currency": env("ERPNEXT_SANDBOX_CURRENCY", cls.currency),
            "time_zone": env("ERPNEXT_SANDBOX_TIME_ZONE", cls.time_zone),
            "items": _env_list("ERPNEXT_SANDBOX_ITEMS", DEFAULT_ITEMS),
            "seed_custom_fields": env("ERPNEXT_SANDBOX_SEED_CUSTOM_FIELDS", "1") not in ("0", "false", "no"),
        }
        return cls(**{**values, **overrides})

    def account(self, account_name: str) -> str:
        return f"{account_name} - {self.abbr}"


def master_data(config: SandboxConfig) -> dict[str, list[dict[str, Any]]]:
    """Documents by DocType, each with its ``name``."""
    acc = config.account
    company = config.company

    def account(account_name: str, account_type: str, root_type: str) -> dict[str, Any]:
        return {
            "name": acc(account_name),
            "account_name": account_name,
            "account_type": account_type,
            "root_type": root_type,
            "company": company,
            "account_currency": config.currency,
            "is_group": 0,
        }

    currencies = ("IDR", "PHP", "USD", "MYR", "THB", "VND")
    return {
        "Company": [
            {
                "name": company,
                "company_name": company,
                "abbr": config.abbr,
                "default_currency": config.currency,
                "country": "Indonesia",
                "default_receivable_account": acc("Debtors"),
                "default_income_account": acc("Sales"),
                "cost_center": acc("Main"),
                "round_off_account": acc("Round Off"),
            }
        ],
        "Account": [
            account("Debtors", "Receivable", "Asset"),
            account("Sales", "Income Account", "Income"),
            account("Xendit", "Bank", "Asset"),
            account("Cash", "Cash", "Asset"),
            account("Payment Gateway Fees", "Expense Account", "Expense"),
            account("Round Off", "Round Off", "Expense"),
        ],
        "Cost Center": [{"name": acc("Main"), "cost_center_name": "Main", "company": company, "is_group": 0}],
        "Mode of Payment": [
            {
                "name": "Xendit",
                "mode_of_payment": "Xendit",
                "type": "Bank",
                "enabled": 1,
                "accounts": [{"company": company, "default_account": acc("Xendit")}],
            },
            {"name": "Cash", "mode_of_payment": "Cash", "type": "Cash", "enabled": 1, "accounts": []},
        ],
        "Currency": [{"name": code, "currency_name": code, "enabled": 1} for code in currencies],
        "UOM": [{"name": "Nos", "uom_name": "Nos"}],
        "Item Group": [
            {"name": "All Item Groups", "item_group_name": "All Item Groups", "is_group": 1},
            {"name": "Services", "item_group_name": "Services", "parent_item_group": "All Item Groups"},
        ],
        "Item": [
            {
                "name": code,
                "item_code": code,
                "item_name": code,
                "description": code,
                "item_group": "Services",
                "stock_uom": "Nos",
                "is_stock_item": 0,
                "is_sales_item": 1,
            }
            for code in config.items
        ],
        "Customer Group": [
            {"name": "All Customer Groups", "customer_group_name": "All Customer Groups", "is_group": 1},
            {
                "name": "Commercial",
                "customer_group_name": "Commercial",
                "parent_customer_group": "All Customer Groups",
            },
            {
                "name": "Individual",
                "customer_group_name": "Individual",
                "parent_customer_group": "All Customer Groups",
            },
        ],
        "Territory": [
            {"name": "All Territories", "territory_name": "All Territories", "is_group": 1},
            {"name": "Indonesia", "territory_name": "Indonesia", "parent_territory": "All Territories"},
        ],
        "Price List": [{"name": "Standard Selling", "price_list_name": "Standard Selling", "selling": 1}],
        "Custom Field": [
            {
                "name": f"{field['dt']}-{field['fieldname']}",
                "fieldtype": "Data",
                "no_copy": 1,
                "read_only": 1,
                "search_index": 1,
                "unique": 0,
                **field,
            }
            for field in (CUSTOM_FIELDS if config.seed_custom_fields else ())
        ],
    }
