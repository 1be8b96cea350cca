"""``GET /api/resource/{DocType}``: filters, fields, order and paging as Frappe's ``get_list`` does them."""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from billing_sandboxes.erpnext._errors import FrappeError

_FILTER_OPS = {"=", "!=", ">", "<", ">=", "<=", "like", "not like", "in", "not in", "is", "between"}


def parse_json_param(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return None
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise FrappeError("ValidationError", f"Invalid JSON in {name}: {raw}") from None


def normalise_filters(raw: Any) -> list[tuple[str, str, Any]]:
    """Both shapes (dict and list of ``[field, op, value]`` / ``[doctype, field, op, value]``)."""
    if raw is None:
        return []
    conditions: list[tuple[str, str, Any]] = []
    if isinstance(raw, dict):
        for field, value in raw.items():
            if isinstance(value, list) and value and str(value[0]).lower() in _FILTER_OPS:
                conditions.append((field, str(value[0]).lower(), value[1] if len(value) > 1 else None))
            else:
                conditions.append((field, "=", value))
        return conditions
    if isinstance(raw, list):
        for item in raw:
            if not isinstance(item, list) or len(item) not in (3, 4):
                raise FrappeError("ValidationError", f"Invalid filter: {item}")
            field, op, value = item[-3], str(item[-2]).lower(), item[-1]
            if op not in _FILTER_OPS:
                raise FrappeError("ValidationError", f"Invalid filter operator: {op}")
            conditions.append((field, op, value))
        return conditions
    raise FrappeError("ValidationError", f"Invalid filters: {raw}")


def _comparable(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, (int, Decimal)) and not isinstance(left, bool):
        try:
            return Decimal(left), Decimal(str(right))
        except (InvalidOperation, ValueError):
            return str(left), str(right)
    return ("" if left is None else str(left)), ("" if right is None else str(right))


def _like(value: Any, pattern: Any) -> bool:
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in str(pattern))
    text = "" if value is None else str(value)
    return re.fullmatch(regex, text, flags=re.IGNORECASE | re.DOTALL) is not None


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")]
    return list(value) if isinstance(value, (list, tuple)) else [value]


def matches(doc: dict[str, Any], conditions: list[tuple[str, str, Any]]) -> bool:
    for field, op, expected in conditions:
        value = doc.get(field)
        if op == "is":
            is_set = value not in (None, "")
            if is_set != (str(expected).lower() == "set"):
                return False
            continue
        if op in ("in", "not in"):
            options = {_comparable(value, option)[1] for option in _as_list(expected)}
            inside = _comparable(value, value)[0] in options
            if inside != (op == "in"):
                return False
            continue
        if op in ("like", "not like"):
            if _like(value, expected) != (op == "like"):
                return False
            continue
        if op == "between":
            low, high = _as_list(expected)[:2]
            left, low_c = _comparable(value, low)
            _, high_c = _comparable(value, high)
            if not low_c <= left <= high_c:
                return False
            continue
        left, right = _comparable(value, expected)
        ok = {
            "=": left == right,
            "!=": left != right,
            ">": left > right,
            "<": left < right,
            ">=": left >= right,
            "<=": left <= right,
        }[op]
        if not ok:
            return False
    return True


def order(docs: list[dict[str, Any]], order_by: str | None) -> list[dict[str, Any]]:
    """``"modified desc"`` (the default), ``"creation asc, name desc"``, backticked columns too."""
    clauses = [part.strip() for part in (order_by or "modified desc").split(",") if part.strip()]
    ordered = list(docs)
    for clause in reversed(clauses):
        words = clause.replace("`", "").split()
        column = words[0].split(".")[-1]
        descending = len(words) > 1 and words[1].lower() == "desc"
        ordered.sort(key=lambda doc: _comparable(doc.get(column), doc.get(column))[0], reverse=descending)
    return ordered


def select(doc: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """A list row: exactly the requested columns, nulls kept, child tables never included."""
    if "*" in fields:
        return {key: value for key, value in doc.items() if not isinstance(value, list)}
    row: dict[str, Any] = {}
    for field in fields:
        column = field.split(" as ")[-1].strip().replace("`", "").split(".")[-1]
        row[column] = doc.get(column)
    return row
