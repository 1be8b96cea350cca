"""Contacts and segments as Mautic 5 serialises them (ref/mautic.md §3): values under ``fields.all``."""

from __future__ import annotations

from typing import Any

from billing_sandboxes.mautic._fields import GROUPS, FieldDef
from billing_sandboxes.mautic._store import Contact, MauticState, Segment


def _field_object(definition: FieldDef, value: Any) -> dict[str, Any]:
    # Metadata comes straight from DB rows in Mautic, so ids and flags are strings.
    return {
        "id": str(definition.id),
        "label": definition.label,
        "alias": definition.alias,
        "type": definition.type,
        "group": definition.group,
        "object": "lead",
        "is_fixed": "1" if definition.is_fixed else "0",
        "properties": [],
        "default_value": None,
        "value": value,
        "normalizedValue": value,
    }


def contact_json(state: MauticState, contact: Contact) -> dict[str, Any]:
    groups: dict[str, Any] = {}
    for group in GROUPS:
        members = {
            alias: _field_object(definition, contact.values.get(alias))
            for alias, definition in state.fields.items()
            if definition.group == group
        }
        groups[group] = members or []  # an empty group is a JSON array in Mautic
    groups["all"] = {"id": contact.id, **{alias: contact.values.get(alias) for alias in state.fields}}
    points = contact.values.get("points")
    return {
        "id": contact.id,
        "isPublished": True,
        "dateAdded": contact.date_added,
        "createdBy": None,
        "createdByUser": None,
        "dateModified": contact.date_modified,
        "modifiedBy": None,
        "modifiedByUser": None,
        "points": int(points) if points not in (None, "") else 0,
        "color": None,
        "fields": groups,
        "lastActive": None,
        "owner": None,
        "ipAddresses": [],
        "tags": [{"id": state.tag_ids[name], "tag": name} for name in contact.tags],
        "utmtags": [],
        "stage": None,
        "dateIdentified": contact.date_identified,
        "preferredProfileImage": "gravatar",
        "doNotContact": [],
        "frequencyRules": [],
    }


def segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "isPublished": True,
        "name": segment.name,
        "alias": segment.alias,
        "description": None,
        "filters": [],
        "isGlobal": True,
        "isPreferenceCenter": False,
    }
