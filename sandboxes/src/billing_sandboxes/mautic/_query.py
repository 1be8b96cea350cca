"""Request decoding as PHP does it (``where[0][col]=x``, ``tags[]=a``) and Mautic's list filters."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def php_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest ``a[b][c]=v`` and ``a[]=v`` into dicts and lists, as PHP builds ``$_GET`` and ``$_POST``."""
    result: dict[str, Any] = {}
    for raw_key, value in pairs:
        match = _KEY.match(raw_key)
        if not match:
            result[raw_key] = value
            continue
        name, brackets = match.groups()
        path = [name, *re.findall(r"\[([^\[\]]*)\]", brackets)]
        node: Any = result
        for index, part in enumerate(path):
            last = index == len(path) - 1
            if isinstance(node, list):
                if last:
                    node.append(value)
                    break
                node.append({})
                node = node[-1]
                continue
            if last:
                node[part] = value
            else:
                following = path[index + 1]
                default: Any = [] if following == "" else {}
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = default
                node = node[part]
    return result


def decode_body(raw: bytes, content_type: str) -> dict[str, Any] | None:
    """JSON or form body as a dict; ``None`` when it cannot be read as either."""
    if not raw.strip():
        return {}
    if "json" in content_type:
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
    return php_params(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def like(pattern: str) -> Callable[[Any], bool]:
    """SQL ``LIKE`` (``%`` any run, ``_`` one character), case-insensitive as MySQL's usual collation."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    compiled = re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL)
    return lambda value: value is not None and bool(compiled.match(str(value)))


def _text(value: Any) -> str:
    return "" if value is None else str(value).casefold()


def where_predicate(clause: dict[str, Any]) -> Callable[[dict[str, Any]], bool] | str:
    """One ``where[i]`` clause as a predicate on a contact's values, or an error message."""
    col, expr, val = clause.get("col"), clause.get("expr", "eq"), clause.get("val")
    if not isinstance(col, str) or not col:
        return "where: col is required"
    vals = val if isinstance(val, list) else str(val or "").split(",")
    tests: dict[str, Callable[[Any], bool]] = {
        "eq": lambda v: v is not None and _text(v) == _text(val),
        "neq": lambda v: _text(v) != _text(val),
        "like": like(str(val or "")),
        "notLike": lambda v: not like(str(val or ""))(v),
        "in": lambda v: _text(v) in {_text(x) for x in vals},
        "notIn": lambda v: _text(v) not in {_text(x) for x in vals},
        "isNull": lambda v: v in (None, ""),
        "isNotNull": lambda v: v not in (None, ""),
    }
    test = tests.get(str(expr))
    if test is None:
        return f"where: unsupported expression {expr!r}"
    return lambda values: test(values.get(col))


def search_predicate(search: str) -> Callable[[dict[str, Any]], bool]:
    """Mautic's search string, the commands the integration uses.

    ``email:x`` is ``email LIKE 'x%'`` (prefix), ``email:+x`` strict (no trailing ``%``), ``ids:1,2``;
    any other word is a prefix match on first name, last name, email or company.
    """
    command, _, value = search.strip().partition(":")
    if value and command == "ids":
        wanted = {part.strip() for part in value.split(",")}
        return lambda values: str(values.get("id")) in wanted
    if value and command in ("email", "company", "firstname", "lastname"):
        pattern = value[1:] if value.startswith("+") else value + "%"
        test = like(pattern)
        return lambda values: test(values.get(command))
    prefix = like(search.strip() + "%")
    return lambda values: any(
        prefix(values.get(name)) for name in ("firstname", "lastname", "email", "company")
    )
