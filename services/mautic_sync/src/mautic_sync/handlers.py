"""mautic_sync's handlers: customers become contacts, billing facts become tags, fields and a segment.

Every write is safe to repeat and independent of arrival order. A billing event first adds its fact
to the customer's set (``store``); the contact is then brought to ``domain.billing_state`` of *all*
the facts: missing ``billing-*`` tags added, extra ones removed, fields written when they differ,
segment membership asserted. The contact is found by our customer id field; it is created (upsert
by e-mail) by ``customer.upserted`` or, when that has not come yet, by ``invoice.issued`` from its
payer e-mail. Other billing events for a customer without a contact are recorded and acknowledged:
the contact, once created, gets the state of every recorded fact (docs/mautic.md, "Order").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lovia_billing import CustomerUpserted, EventType, InvoiceIssued, PermanentError
from lovia_billing.clients.mautic import MauticClient, MauticContact, email_problem
from lovia_billing.consumer import Handler, HandlerContext
from mautic_sync.customer import contact_fields
from mautic_sync.domain import (
    BillingState,
    FieldAliases,
    SegmentMove,
    billing_state,
    format_invoice_ids,
    plan,
)
from mautic_sync.facts import BillingEvent, encode, fact_of, read_facts
from mautic_sync.store import FactStore


@dataclass
class MauticHandlers:
    client: MauticClient
    facts: FactStore
    aliases: FieldAliases
    active_segment_id: int

    def handlers(self) -> dict[EventType, Handler]:
        return {
            EventType.CUSTOMER_UPSERTED: self.on_customer_upserted,
            EventType.INVOICE_ISSUED: self.on_billing_event,
            EventType.PAYMENT_SUCCEEDED: self.on_billing_event,
            EventType.REFUND_SUCCEEDED: self.on_billing_event,
            EventType.INVOICE_EXPIRED: self.on_billing_event,
            EventType.SUBSCRIPTION_CANCELLED: self.on_billing_event,
        }

    async def on_customer_upserted(self, event: CustomerUpserted, ctx: HandlerContext) -> None:
        """Create or update the customer's contact: found by our id (so an e-mail change moves the
        contact, and a contact an invoice created is completed), else upserted by e-mail (so a lead
        that became a customer is reused). Billing facts recorded before it are then written."""
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
        stored = await self.facts.facts(event.customer_id)
        if stored:
            await self._write_state(contact, self._state(stored, ctx), event.event_id, ctx)

    async def on_billing_event(self, event: BillingEvent, ctx: HandlerContext) -> None:
        """Record the event's fact, then bring the contact to the state of all the customer's facts."""
        stored = await self.facts.add(event.customer_id, encode(fact_of(event)))
        state = self._state(stored, ctx)
        contact = await self._find(event.customer_id, ctx)
        if contact is None:
            contact = await self._create_for_invoice(event, state, ctx)
        if contact is None:
            # Retrying would block this customer's message group, and the customer.upserted that
            # creates the contact may be behind this event in it. It writes every recorded fact.
            ctx.logger.info(
                "billing fact recorded; no mautic contact yet",
                extra={"event_id": event.event_id, "customer_id": event.customer_id, "type": event.type},
            )
            return
        await self._write_state(contact, state, event.event_id, ctx)

    async def _create_for_invoice(
        self, event: BillingEvent, state: BillingState, ctx: HandlerContext
    ) -> MauticContact | None:
        """The contact for an invoice that came before its customer, upserted by the payer's e-mail
        with our customer id and the billing state; None when there is no e-mail to use."""
        if not isinstance(event, InvoiceIssued):
            return None
        problem = email_problem(event.payer_email)
        if problem:
            ctx.logger.warning(
                "payer e-mail would be rejected by mautic; waiting for customer.upserted",
                extra={"event_id": event.event_id, "problem": problem},
            )
            return None
        # The payer may be someone who pays for several customers (a bookkeeper): an e-mail upsert
        # would then move another customer's contact to this one. Leave it to customer.upserted.
        same_email = await self.client.find_contacts_by_field("email", event.payer_email)
        ours = (None, "", event.customer_id)
        taken = [c.id for c in same_email if c.value(self.aliases.customer_id) not in ours]
        if taken:
            ctx.logger.warning(
                "payer e-mail belongs to another customer's mautic contact; waiting for customer.upserted",
                extra={"event_id": event.event_id, "contact_ids": taken},
            )
            return None
        fields: dict[str, Any] = {
            "email": event.payer_email,
            self.aliases.customer_id: event.customer_id,
            self.aliases.status: state.status.value,
            self.aliases.open_invoices: format_invoice_ids(state.open_invoices),
        }
        result = await self.client.upsert_contact(fields, tags=sorted(state.tags))
        self._check_field(result.contact, self.aliases.customer_id)
        ctx.logger.info(
            "mautic contact upserted from an invoice",
            extra={
                "event_id": event.event_id,
                "contact_id": result.contact.id,
                "contact_created": result.created,
            },
        )
        return result.contact

    async def _write_state(
        self, contact: MauticContact, state: BillingState, event_id: str, ctx: HandlerContext
    ) -> None:
        """Make the contact show ``state``: one edit with what differs, then the segment move, which
        is sent every time (Mautic's add/remove are idempotent, and a delivery that failed between
        the edit and the segment call must still make the move on retry)."""
        self._check_field(contact, self.aliases.status)
        self._check_field(contact, self.aliases.open_invoices)
        changes = plan(state, contact.tags, contact.values, self.aliases)
        if changes.changes_contact:
            # Blanks must clear: an empty open-invoices list is written as "".
            await self.client.edit_contact(
                contact.id, changes.fields, tags=changes.tag_operations, overwrite_with_blank=True
            )
        if state.segment is SegmentMove.JOIN:
            await self.client.add_to_segment(self.active_segment_id, contact.id)
        else:
            await self.client.remove_from_segment(self.active_segment_id, contact.id)
        ctx.logger.info(
            "mautic billing state",
            extra={
                "event_id": event_id,
                "contact_id": contact.id,
                "status": state.status.value,
                "tags": changes.tag_operations,
                "segment": state.segment.value,
            },
        )

    @staticmethod
    def _state(stored: frozenset[str], ctx: HandlerContext) -> BillingState:
        facts, unreadable = read_facts(stored)
        if unreadable:
            # Written by a newer mautic_sync (a rollback): use what this version understands.
            ctx.logger.warning("billing facts this version cannot read", extra={"count": len(unreadable)})
        return billing_state(facts)

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
