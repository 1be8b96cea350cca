"""The billing state Mautic shows: moved to ``lovia_billing.mautic_state`` (``billing reconcile`` checks
the contacts against it too); re-exported here for mautic_sync's handlers and tests.
"""

from __future__ import annotations

from lovia_billing.mautic_state import (
    OUR_TAGS,
    BillingState,
    BillingStatus,
    BillingTag,
    ContactChanges,
    FieldAliases,
    Outcome,
    SegmentMove,
    Standing,
    amounts_due,
    billing_state,
    distinct_facts,
    format_invoice_ids,
    parse_invoice_ids,
    plan,
)

__all__ = [
    "OUR_TAGS",
    "BillingState",
    "BillingStatus",
    "BillingTag",
    "ContactChanges",
    "FieldAliases",
    "Outcome",
    "SegmentMove",
    "Standing",
    "amounts_due",
    "billing_state",
    "distinct_facts",
    "format_invoice_ids",
    "parse_invoice_ids",
    "plan",
]
