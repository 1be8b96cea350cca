"""The contact fields a ``customer.upserted`` sets. They are ours: blanks are sent to clear them. No I/O."""

from __future__ import annotations

from typing import Any

from lovia_billing import CustomerUpserted
from mautic_sync.domain import FieldAliases


def split_name(name: str) -> tuple[str, str]:
    """``"Siti Nur Aisyah"`` → ``("Siti", "Nur Aisyah")``; a single word is a first name."""
    first, _, last = " ".join(name.split()).partition(" ")
    return first, last


def contact_fields(event: CustomerUpserted, aliases: FieldAliases) -> dict[str, Any]:
    first, last = split_name(event.name)
    return {
        "email": event.email,
        "firstname": first,
        "lastname": last,
        "company": event.company or "",
        "phone": event.phone or "",
        aliases.customer_id: event.customer_id,
        aliases.plan: event.plan or "",
    }
