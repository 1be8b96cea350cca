"""JSON in and out the way Xendit speaks it: money as JSON numbers, parsed back as ``Decimal``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request, Response
from pydantic import BaseModel, ValidationError

from billing_sandboxes.xendit._errors import validation_error

AnyRequest = Request[Any, Any, Any]

_JSON = msgspec.json.Encoder(decimal_format="number")


def encode(content: Any) -> bytes:
    return _JSON.encode(content)


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(encode(content), status_code=status, media_type="application/json", headers=headers)


async def read_json(request: AnyRequest) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw, parse_float=Decimal)  # money is never a float
    except ValueError:
        raise validation_error("request body is not valid JSON") from None


def parse(model: type[BaseModel], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(repr(exc.errors(include_url=False, include_context=False))) from None


def query_list(request: AnyRequest, name: str) -> list[str]:
    """A repeated (``?id=a&id=b``) or comma-separated query parameter."""
    return [v.strip() for raw in request.query_params.getall(name, []) for v in raw.split(",") if v.strip()]


def query_limit(request: AnyRequest, default: int = 10, maximum: int = 100) -> int:
    try:
        limit = int(request.query_params.get("limit", default))
    except ValueError:
        raise validation_error("limit must be an integer") from None
    if not 1 <= limit <= maximum:
        raise validation_error(f"limit must be between 1 and {maximum}")
    return limit


def page(request: AnyRequest, records: list[dict[str, Any]], *, newest_first: bool = True) -> dict[str, Any]:
    """Xendit's list shape ``{data, has_more, links}`` with ``after_id``/``before_id`` cursors."""
    ordered = list(reversed(records)) if newest_first else list(records)
    ids = [record["id"] for record in ordered]
    after_id = request.query_params.get("after_id")
    before_id = request.query_params.get("before_id")
    if after_id is not None:
        ordered = ordered[ids.index(after_id) + 1 :] if after_id in ids else []
    elif before_id is not None:
        ordered = ordered[: ids.index(before_id)] if before_id in ids else []
    limit = query_limit(request)
    data, has_more = ordered[:limit], len(ordered) > limit
    links = []
    if has_more:
        query = {k: v for k, v in request.query_params.items() if k not in ("after_id", "before_id")}
        query["after_id"] = data[-1]["id"]
        links.append({"href": f"{request.url.path}?{urlencode(query)}", "rel": "next", "method": "GET"})
    return {"data": data, "has_more": has_more, "links": links}
