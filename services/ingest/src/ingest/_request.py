"""The ingest's request class: exact JSON numbers, and a JSON error for a body that is not JSON."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException
from litestar.types import Empty

from lovia_billing import JsonNumber

#: The deepest nesting a body may have. Our bodies are a few levels deep (a Xendit envelope's
#: ``data.metadata``, an invoice's ``lines``); anything far deeper is not one of them, and
#: thousands of levels would exhaust the decoder's recursion (``RecursionError``).
MAX_JSON_DEPTH = 32


class MalformedJson(ClientException):
    """400 ``malformed_json``: the body is not JSON we can take (syntax, encoding or nesting)."""

    status_code = 400


class JsonRequest(Request[Any, Any, Any]):
    """Decodes JSON with the standard library so that no number ever passes through a float."""

    async def json(self) -> Any:
        if self._json is Empty:
            body = await self.body()
            try:
                decoded = json.loads(body or b"null", parse_float=JsonNumber)
            except (ValueError, UnicodeDecodeError) as exc:
                raise MalformedJson(detail=f"malformed JSON: {exc}") from exc
            except RecursionError as exc:  # nested deeper than the decoder's recursion limit
                raise MalformedJson(
                    detail=f"malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels"
                ) from exc
            if json_depth(decoded) > MAX_JSON_DEPTH:
                raise MalformedJson(detail=f"malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels")
            self._json = decoded
        return self._json


def json_depth(value: Any) -> int:
    """How deeply ``value``'s arrays and objects nest (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = node.values()
        elif not isinstance(node, list):
            continue
        depth += 1
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:  # no need to walk further
            return depth
        stack.extend((child, depth) for child in node)
    return deepest
