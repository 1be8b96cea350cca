"""The contact fields the sandbox knows: a subset of Mautic's core fields plus the configured custom ones."""

from __future__ import annotations

from dataclasses import dataclass

from billing_sandboxes.mautic._config import FieldSeed

GROUPS = ("core", "social", "personal", "professional")


@dataclass(frozen=True)
class FieldDef:
    id: int
    alias: str
    label: str
    type: str
    group: str
    is_fixed: bool
    is_unique: bool


_CORE: tuple[tuple[str, str, str, str], ...] = (
    ("title", "Title", "lookup", "core"),
    ("firstname", "First Name", "text", "core"),
    ("lastname", "Last Name", "text", "core"),
    ("company", "Primary company", "text", "core"),
    ("position", "Position", "text", "core"),
    ("email", "Email", "email", "core"),
    ("mobile", "Mobile", "tel", "core"),
    ("phone", "Phone", "tel", "core"),
    ("points", "Points", "number", "core"),
    ("address1", "Address Line 1", "text", "core"),
    ("city", "City", "text", "core"),
    ("country", "Country", "country", "core"),
    ("preferred_locale", "Preferred Locale", "locale", "core"),
    ("timezone", "Preferred Timezone", "timezone", "core"),
    ("website", "Website", "url", "core"),
    ("facebook", "Facebook", "text", "social"),
    ("linkedin", "LinkedIn", "text", "social"),
    ("twitter", "Twitter", "text", "social"),
)


def build_fields(custom: list[FieldSeed]) -> dict[str, FieldDef]:
    """Alias → definition; ``email`` is the default unique identifier (``FieldModel``)."""
    fields: dict[str, FieldDef] = {}
    for number, (alias, label, kind, group) in enumerate(_CORE, start=1):
        fields[alias] = FieldDef(number, alias, label, kind, group, True, alias == "email")
    for number, seed in enumerate(custom, start=len(_CORE) + 1):
        fields[seed.alias] = FieldDef(
            number, seed.alias, seed.label, seed.type, "core", is_fixed=False, is_unique=seed.is_unique
        )
    return fields
