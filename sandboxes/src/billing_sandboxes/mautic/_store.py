"""The sandbox's state: contacts, tags, segments and OAuth tokens, in memory, behind one lock.

Mautic's write rules live here (ref/mautic.md §4): ``/contacts/new`` matches on unique
identifiers (email by default, OR-combined, newest wins), blanks are skipped unless
``overwriteWithBlank``, numeric zero is dropped, tags are added and ``-tag`` removed.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from billing_sandboxes.mautic._config import MauticSandboxConfig
from billing_sandboxes.mautic._email import email_violation
from billing_sandboxes.mautic._fields import FieldDef, build_fields

#: Payload keys that are not contact fields.
RESERVED = frozenset(
    {"tags", "overwriteWithBlank", "owner", "ipAddress", "lastActive", "doNotContact", "stage", "id"}
)


def now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


@dataclass
class Contact:
    id: int
    values: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    date_added: str = field(default_factory=now_iso)
    date_modified: str | None = None
    date_identified: str | None = None


@dataclass
class Segment:
    id: int
    name: str
    alias: str
    members: set[int] = field(default_factory=set)


@dataclass
class Token:
    client_id: str
    expires_at: float


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


class MauticState:
    """Everything the sandbox remembers; ``reset`` forgets it."""

    def __init__(self, config: MauticSandboxConfig) -> None:
        self.config = config
        self.fields: dict[str, FieldDef] = build_fields(config.custom_fields)
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.contacts: dict[int, Contact] = {}
        self.tag_ids: dict[str, int] = {}
        self.segments = {s.id: Segment(s.id, s.name, s.alias) for s in self.config.segments}
        self.tokens: dict[str, Token] = {}
        self.requests: list[dict[str, Any]] = []
        self._next_id = 1

    # --- auth -------------------------------------------------------------------------------

    def issue_token(self, client_id: str) -> tuple[str, int]:
        lifetime = self.config.token_lifetime_seconds
        token = secrets.token_urlsafe(32)
        self.tokens[token] = Token(client_id, time.monotonic() + lifetime)
        return token, lifetime

    def expire_tokens(self) -> int:
        for token in self.tokens.values():
            token.expires_at = 0.0
        return len(self.tokens)

    # --- contacts ---------------------------------------------------------------------------

    def violations(self, payload: dict[str, Any]) -> dict[str, list[str]]:
        """Form validation of a contact payload: an invalid e-mail is the one rule simulated."""
        email = payload.get("email")
        if isinstance(email, str) and email.strip():
            problem = email_violation(email.strip())
            if problem:
                return {"email": [problem]}
        return {}

    def find_duplicate(self, payload: dict[str, Any]) -> Contact | None:
        """``checkForDuplicateContact``: any unique field equal (OR), the newest match wins."""
        unique = {
            alias: str(payload[alias]).strip().casefold()
            for alias, definition in self.fields.items()
            if definition.is_unique and alias in payload and not _is_blank(payload[alias])
        }

        def matches_any(contact: Contact) -> bool:
            return any(str(contact.values.get(a) or "").casefold() == v for a, v in unique.items())

        matches = [contact for contact in self.contacts.values() if matches_any(contact)]
        return max(matches, key=lambda c: (c.date_added, c.id), default=None)

    def create(self, payload: dict[str, Any], *, overwrite_with_blank: bool) -> Contact:
        contact = Contact(self._next_id, dict.fromkeys(self.fields))
        self._next_id += 1
        self.contacts[contact.id] = contact
        self.apply(contact, payload, overwrite_with_blank=overwrite_with_blank)
        contact.date_modified = None
        return contact

    def apply(self, contact: Contact, payload: dict[str, Any], *, overwrite_with_blank: bool) -> None:
        """Set known fields (unknown keys are ignored, as Mautic's form does) and modify tags."""
        for alias, value in payload.items():
            if alias in RESERVED or alias not in self.fields:
                continue
            if _is_zero(value) or (_is_blank(value) and not overwrite_with_blank):
                continue
            contact.values[alias] = value.strip() if isinstance(value, str) else value
            if alias == "email" and not _is_blank(value) and contact.date_identified is None:
                contact.date_identified = now_iso()
        self._modify_tags(contact, payload.get("tags"))
        contact.date_modified = now_iso()

    def replace(self, contact: Contact, payload: dict[str, Any]) -> None:
        """``PUT``: blanks overwrite (every field not sent is cleared)."""
        for alias in self.fields:
            if alias not in payload:
                contact.values[alias] = None
        self.apply(contact, payload, overwrite_with_blank=True)

    def _modify_tags(self, contact: Contact, raw: Any) -> None:
        names = raw if isinstance(raw, list) else str(raw).split(",") if raw else []
        for name in (str(n).strip() for n in names):
            if not name:
                continue
            if name.startswith("-"):
                if name[1:] in contact.tags:
                    contact.tags.remove(name[1:])
                continue
            self.tag_ids.setdefault(name, len(self.tag_ids) + 1)
            if name not in contact.tags:
                contact.tags.append(name)

    def delete(self, contact_id: int) -> Contact | None:
        contact = self.contacts.pop(contact_id, None)
        for segment in self.segments.values():
            segment.members.discard(contact_id)
        return contact

    def segments_of(self, contact_id: int) -> list[Segment]:
        return [s for s in self.segments.values() if contact_id in s.members]


def overwrite_flag(payload: dict[str, Any]) -> bool:
    return _truthy(payload.get("overwriteWithBlank", False))
