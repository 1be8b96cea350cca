"""Typed views of Mautic's answers (ref/mautic.md §3): values are read from ``fields.all``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

#: ``where[i][expr]`` values the client sends (Doctrine expressions Mautic accepts).
WhereExpr = Literal["eq", "neq", "like", "in", "isNull", "isNotNull"]


class MauticContact(BaseModel):
    """One contact: its id, every field value by alias, and its tag names."""

    model_config = ConfigDict(frozen=True)

    id: int
    values: dict[str, Any]
    tags: frozenset[str]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> MauticContact:
        fields = data.get("fields") or {}
        values = fields.get("all") if isinstance(fields, Mapping) else None
        tags = data.get("tags") or []
        return cls(
            id=int(data["id"]),
            values=dict(values) if isinstance(values, Mapping) else {},
            tags=frozenset(str(tag["tag"]) for tag in tags if isinstance(tag, Mapping) and "tag" in tag),
        )

    def value(self, alias: str) -> Any:
        """The field's value, ``None`` when empty or unknown to this Mautic."""
        return self.values.get(alias)

    def has_field(self, alias: str) -> bool:
        """Whether this Mautic has the field at all (unknown fields are silently dropped on write)."""
        return alias in self.values


@dataclass(frozen=True)
class UpsertResult:
    """The outcome of ``POST /api/contacts/new``: 201 created, 200 matched an existing contact."""

    contact: MauticContact
    created: bool


@dataclass(frozen=True)
class Where:
    """One ``where[i]`` filter of ``GET /api/contacts``."""

    col: str
    val: str | list[str] | None = None
    expr: WhereExpr = "eq"
