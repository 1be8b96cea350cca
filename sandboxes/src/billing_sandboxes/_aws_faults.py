"""Injected AWS failures on the stand-in, as an outage of one operation looks to botocore.

A WSGI middleware around the stand-in's app. ``POST /_sandbox/faults`` with
``{"operation": "DynamoDB_20120810.UpdateItem", "seconds": 3, "match": ":done"}`` answers every
request for that operation (its ``X-Amz-Target``) whose body contains ``match`` (optional) with a
500 ``InternalServerError`` for ``seconds``, as DynamoDB or SQS does during an incident: botocore
retries it, then raises. ``GET`` lists the faults with how many requests each failed; ``DELETE``
clears them. Everything else passes through untouched.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from billing_sandboxes._request_log import read_body

PATH = "/_sandbox/faults"

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

#: The error each protocol's clients read (``__type``) for a server-side failure.
_ERROR_TYPES = {
    "DynamoDB_20120810": "com.amazonaws.dynamodb.v20120810#InternalServerError",
    "AmazonSQS": "com.amazonaws.sqs#InternalError",
}


@dataclass
class Fault:
    operation: str
    until: float
    match: str | None
    failed: int = 0

    def hits(self, operation: str, body: bytes, now: float) -> bool:
        return (
            operation == self.operation
            and now < self.until
            and (self.match is None or self.match.encode() in body)
        )


class AwsFaults:
    """Wraps a WSGI app; thread-safe."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).rstrip("/") == PATH:
            return self._manage(environ, start_response)
        operation = environ.get("HTTP_X_AMZ_TARGET", "")
        if not operation or not self._faults:
            return self._app(environ, start_response)
        body = read_body(environ)
        now = time.monotonic()
        with self._lock:
            fault = next((f for f in self._faults if f.hits(operation, body, now)), None)
            if fault is not None:
                fault.failed += 1
        if fault is None:
            return self._app(environ, start_response)
        prefix = operation.partition(".")[0]
        error = {"__type": _ERROR_TYPES.get(prefix, "InternalFailure"), "message": "injected by the stand-in"}
        return _json(start_response, "500 Internal Server Error", error)

    def _manage(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "POST":
            try:
                spec = json.loads(read_body(environ) or b"{}")
                fault = Fault(
                    operation=str(spec["operation"]),
                    until=time.monotonic() + float(spec["seconds"]),
                    match=None if spec.get("match") is None else str(spec["match"]),
                )
            except (ValueError, KeyError, TypeError) as exc:
                return _json(start_response, "400 Bad Request", {"error": f"bad fault: {exc!r}"})
            with self._lock:
                self._faults.append(fault)
            return _json(start_response, "201 Created", {"operation": fault.operation})
        if method == "DELETE":
            with self._lock:
                self._faults.clear()
            return _json(start_response, "200 OK", {"faults": []})
        with self._lock:
            listed = [
                {
                    "operation": f.operation,
                    "match": f.match,
                    "failed": f.failed,
                    "active": time.monotonic() < f.until,
                }
                for f in self._faults
            ]
        return _json(start_response, "200 OK", {"faults": listed})


def _json(start_response: StartResponse, status: str, payload: dict[str, Any]) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(
        status, [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))]
    )
    return [data]
