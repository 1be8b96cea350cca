"""The mautic integration's handlers: customers become contacts, billing events become tags and a segment.

Every write is safe to repeat. The contact is found by our customer id field, the upsert is keyed
by e-mail (Mautic's unique identifier), tag and segment changes come from ``domain.decide``.
"""

from __future__ import annotations

from dataclasses import dataclass

from lovia_billing import (
    CustomerUpserted,
    EventType,
    PermanentError,
    RetryableError,
)
from lovia_billing.clients.mautic import MauticClient, MauticContact, email_problem
from lovia_billing.consumer import Handler, HandlerContext
from mautic_sync.domain import (
    BillingEvent,
    BillingState,
    FieldAliases,
    SegmentMove,
    contact_fields,
    decide,
)


@dataclass
class MauticHandlers:
    client: MauticClient
    aliases: FieldAliases
    active_segment_id: int

    def handlers(self) -> dict[EventType, Handler]:
        return {
            EventType.CUSTOMER_UPSERTED: self.on_customer_upserted,
            EventType.INVOICE_ISSUED: self.on_billing_event,
            EventType.PAYMENT_SUCCEEDED: self.on_billing_event,
            EventType.INVOICE_EXPIRED: self.on_billing_event,
            EventType.SUBSCRIPTION_CANCELLED: self.on_billing_event,
        }

    async def on_customer_upserted(self, event: CustomerUpserted, ctx: HandlerContext) -> None:
        """Create or update the customer's contact: found by our id (so an e-mail change moves the
        contact), else upserted by e-mail (so a lead that became a customer is reused)."""
        problem = email_problem(event.email)
        if problem:
            raise PermanentError(
                f"customer {event.customer_id}: e-mail {event.email!r} would be rejected by Mautic "
                f"({problem}); not sent"
            )
        fields = contact_fields(event, self.aliases)
        existing = await self._find(event.customer_id, ctx)
        if existing is not None:
            contact = await self.client.edit_contact(existing.id, fields, overwrite_with_blank=True)
            created = False
        else:
            result = await self.client.upsert_contact(fields, overwrite_with_blank=True)
            contact, created = result.contact, result.created
        self._check_field(contact, self.aliases.customer_id)
        ctx.logger.info(
            "mautic contact upserted",
            extra={"event_id": event.event_id, "contact_id": contact.id, "contact_created": created},
        )

    async def on_billing_event(self, event: BillingEvent, ctx: HandlerContext) -> None:
        """Bring the contact's billing tags, fields and segment membership to the state after ``event``."""
        contact = await self._find(event.customer_id, ctx)
        if contact is None:
            # customer.upserted comes first in the same message group; it may still be retrying.
            raise RetryableError(
                f"no Mautic contact with {self.aliases.customer_id}={event.customer_id} yet "
                f"({event.type} {event.event_id} waits for customer.upserted)"
            )
        self._check_field(contact, self.aliases.open_invoices)
        state = BillingState.from_contact(contact.tags, contact.value(self.aliases.open_invoices))
        stored_status = contact.value(self.aliases.status)
        decision = decide(state, event, self.aliases, stored_status=stored_status)
        if decision.changes_contact:
            # Blanks must clear: an empty open-invoices list is written as "".
            await self.client.edit_contact(
                contact.id, decision.fields, tags=decision.tag_operations, overwrite_with_blank=True
            )
        if decision.segment is SegmentMove.JOIN:
            await self.client.add_to_segment(self.active_segment_id, contact.id)
        elif decision.segment is SegmentMove.LEAVE:
            await self.client.remove_from_segment(self.active_segment_id, contact.id)
        ctx.logger.info(
            "mautic billing state",
            extra={
                "event_id": event.event_id,
                "contact_id": contact.id,
                "status": decision.after.status.value,
                "tags": decision.tag_operations,
                "segment": decision.segment,
            },
        )

    async def _find(self, customer_id: str, ctx: HandlerContext) -> MauticContact | None:
        matches = await self.client.find_contacts_by_field(self.aliases.customer_id, customer_id)
        if len(matches) > 1:
            ctx.logger.warning(
                "several mautic contacts share one customer id; using the newest",
                extra={"customer_id": customer_id, "contact_ids": [c.id for c in matches]},
            )
        return matches[0] if matches else None

    @staticmethod
    def _check_field(contact: MauticContact, alias: str) -> None:
        # Mautic silently drops values of fields it does not have; without this field the
        # integration cannot work, and retrying will not create it.
        if not contact.has_field(alias):
            raise PermanentError(
                f"Mautic has no contact field {alias!r}: create it (docs/mautic.md) or fix MAUTIC_FIELD_*"
            )
