"""The ingest's request class: exact JSON numbers, and a JSON error for a body that is not JSON."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request
from litestar.exceptions import ClientException
from litestar.types import Empty

from lovia_billing import JsonNumber


class JsonRequest(Request[Any, Any, Any]):
    """Decodes JSON with the standard library so that no number ever passes through a float."""

    async def json(self) -> Any:
        if self._json is Empty:
            body = await self.body()
            try:
                self._json = json.loads(body or b"null", parse_float=JsonNumber)
            except (ValueError, UnicodeDecodeError) as exc:
                raise ClientException(status_code=400, detail=f"malformed JSON: {exc}") from exc
        return self._json
