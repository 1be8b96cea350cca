"""erpnext_sync's settings, read from the environment once by ``__main__``.

The defaults are the local sandbox's seeded masters (company ``Lovia``, abbreviation ``LV``); a real
site sets them to its own company, accounts and mode of payment (see docs/erpnext.md).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from lovia_billing import ConsumerSettings


class ErpnextSyncSettings(ConsumerSettings):
    erpnext_base_url: str = Field(default="http://127.0.0.1:4002", description="ERPNext site root")
    erpnext_api_key: SecretStr = Field(description="API key of the integration user")
    erpnext_api_secret: SecretStr = Field(description="API secret of the integration user")
    erpnext_company: str = Field(default="Lovia", description="Company the documents are booked in")
    erpnext_paid_to_account: str = Field(
        default="Xendit - LV", description="Bank account Xendit payments are received into"
    )
    erpnext_mode_of_payment: str = Field(default="Xendit", description="Mode of Payment of Payment Entries")
    erpnext_fee_account: str = Field(
        default="Payment Gateway Fees - LV", description="expense account for Xendit's fees (deductions)"
    )
    erpnext_cost_center: str = Field(default="Main - LV", description="cost center of the fee deductions")
    erpnext_customer_group: str = Field(default="All Customer Groups", description="group of new Customers")
    erpnext_territory: str = Field(default="All Territories", description="territory of new Customers")
    erpnext_time_zone: str = Field(
        default="Asia/Jakarta", description="the site's time zone: posting dates are local dates"
    )
    erpnext_timeout_seconds: float = Field(
        default=30.0, gt=0, description="read timeout per request (submits post GL entries and can be slow)"
    )
