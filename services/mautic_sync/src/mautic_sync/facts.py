"""Billing facts: moved to ``lovia_billing.billing_facts`` (``billing reconcile`` reads them too).

Re-exported here for mautic_sync's handlers and tests.
"""

from __future__ import annotations

from lovia_billing.billing_facts import (
    KEY_PREFIX,
    BillingEvent,
    Cancelled,
    Expired,
    Fact,
    FactAmount,
    FactTime,
    Issued,
    Paid,
    Refunded,
    decode,
    encode,
    fact_key,
    fact_of,
    read_facts,
)

__all__ = [
    "KEY_PREFIX",
    "BillingEvent",
    "Cancelled",
    "Expired",
    "Fact",
    "FactAmount",
    "FactTime",
    "Issued",
    "Paid",
    "Refunded",
    "decode",
    "encode",
    "fact_key",
    "fact_of",
    "read_facts",
]
