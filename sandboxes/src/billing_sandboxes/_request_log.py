"""Counts what the stand-in was asked, by service and operation, with DynamoDB's request units.

A WSGI middleware around moto's app. ``GET /_sandbox/requests`` answers the counts since start (or
the last ``DELETE /_sandbox/requests``), in total and per calling process (``apps``, keyed by the
``AWS_SDK_UA_APP_ID`` a process runs with: botocore sends it as ``app/<id>`` in its User-Agent):

* ``requests``: ``{"SQS.SendMessageBatch": 3, "DynamoDB.PutItem": 5, ...}``, one per HTTP call;
* ``sqs``: messages carried — ``SendMessageBatch.entries``, ``ReceiveMessage.messages``,
  ``ReceiveMessage.empty`` (long polls that returned nothing), ``DeleteMessageBatch.entries``;
* ``units``: DynamoDB on-demand request units as AWS bills them, from the items' real sizes — a
  write is ``ceil(max(size before, size after) / 1 KB)`` (a failed condition still pays for the item
  it read), a strongly consistent read ``ceil(size / 4 KB)``, at least one each.

Every process that talks to the stand-in is counted, so a benchmark sees the whole system's calls.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID

PATH = "/_sandbox/requests"
_SERVICES = {"AmazonSQS": "SQS", "DynamoDB_20120810": "DynamoDB", "secretsmanager": "SecretsManager"}
_DYNAMODB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})
_DYNAMODB_READS = frozenset({"GetItem"})

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


_APP = re.compile(r"\bapp/([^ ]+)")
_KINDS = ("requests", "sqs", "units")


class RequestLog:
    """Wraps a WSGI app; thread-safe counters."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()
        #: (kind, app, name) -> count; eventual reads cost half a unit
        self._counts: defaultdict[tuple[str, str, str], float] = defaultdict(float)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self._counts)
        totals: dict[str, dict[str, float]] = {kind: {} for kind in _KINDS}
        apps: dict[str, dict[str, dict[str, float]]] = {}
        for (kind, app, name), value in sorted(counts.items()):
            totals[kind][name] = totals[kind].get(name, 0) + value
            by_app = apps.setdefault(app, {k: {} for k in _KINDS})[kind]
            by_app[name] = by_app.get(name, 0) + value
        return {**totals, "apps": apps}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def _add(self, app: str, kind: str, name: str, value: float = 1) -> None:
        self._counts[kind, app, name] += value

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH:
            return self._answer(environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        prefix, _, operation = target.partition(".")
        service = _SERVICES.get(prefix)
        found = _APP.search(environ.get("HTTP_USER_AGENT", ""))
        app = found[1] if found else "-"
        if service is None:
            with self._lock:
                self._add(app, "requests", "other")
            return self._app(environ, start_response)
        body = _read_body(environ)
        if service == "DynamoDB" and operation in _DYNAMODB_WRITES | _DYNAMODB_READS:
            return self._dynamodb(environ, start_response, app, operation, body)
        chunks = _run(self._app, environ, start_response)
        with self._lock:
            self._add(app, "requests", f"{service}.{operation}")
            if service == "SQS":
                self._count_sqs(app, operation, body, b"".join(chunks))
        return chunks

    def _count_sqs(self, app: str, operation: str, request: bytes, response: bytes) -> None:
        if operation == "SendMessageBatch":
            self._add(app, "sqs", "SendMessageBatch.entries", request.count(b'"MessageBody"'))
        elif operation == "DeleteMessageBatch":
            self._add(app, "sqs", "DeleteMessageBatch.entries", request.count(b'"ReceiptHandle"'))
        elif operation == "ReceiveMessage":
            carried = response.count(b'"ReceiptHandle"')
            self._add(app, "sqs", "ReceiveMessage.messages", carried)
            self._add(app, "sqs", "ReceiveMessage.empty", 0 if carried else 1)

    def _dynamodb(
        self, environ: Environ, start_response: StartResponse, app: str, operation: str, body: bytes
    ) -> Iterable[bytes]:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = {}
        region = _region(environ)
        before = _item_size(region, request)
        chunks = _run(self._app, environ, start_response)
        if operation in _DYNAMODB_WRITES:
            after = _item_size(region, request)
            units = max(1, math.ceil(max(before, after) / 1024))
            kind = "write"
        else:
            units = max(1, math.ceil(before / 4096))
            kind = "read" if request.get("ConsistentRead") else "read_eventual"
        with self._lock:
            self._add(app, "requests", f"DynamoDB.{operation}")
            self._add(
                app,
                "units",
                f"{kind}.{request.get('TableName', '?')}",
                units * (0.5 if kind == "read_eventual" else 1),
            )
        return chunks

    def _answer(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "DELETE":
            self.reset()
        payload = json.dumps(self.snapshot(), sort_keys=True).encode()
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))]
        )
        return [payload]


def _run(
    app: Callable[[Environ, StartResponse], Iterable[bytes]], environ: Environ, start: StartResponse
) -> list[bytes]:
    """The whole response (to count what it carries), closing the app's iterable as WSGI requires."""
    iterable = app(environ, start)
    try:
        return list(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()


def _read_body(environ: Environ) -> bytes:
    """Read the request body and put it back for moto."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _region(environ: Environ) -> str:
    """The region in the request's SigV4 credential scope (``Credential=AKID/date/REGION/...``)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    _, _, scope = authorization.partition("Credential=")
    parts = scope.split("/")
    return parts[2] if len(parts) > 2 else "us-east-1"


def _item_size(region: str, request: dict[str, Any]) -> int:
    """The stored size of the item a request addresses (0 if absent), as moto measures it."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    try:
        backend = dynamodb_backends[os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)][region]
        table = backend.get_table(str(request["TableName"]))
        key = request.get("Key") or request.get("Item") or {}
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_key, range_key)
    except Exception:  # no table, no key: moto answers the error; nothing to measure
        return 0
    return int(item.size()) if item is not None else 0
