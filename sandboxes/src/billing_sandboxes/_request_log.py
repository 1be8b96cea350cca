"""Counts what the stand-in was asked, by service and operation, with DynamoDB's request units.

A WSGI middleware around moto's app. ``GET /_sandbox/requests`` answers the counts since start (or
the last ``DELETE /_sandbox/requests``), in total and per calling process (``apps``, keyed by the
``AWS_SDK_UA_APP_ID`` a process runs with: botocore sends it as ``app/<id>`` in its User-Agent):

* ``requests``: ``{"SQS.SendMessageBatch": 3, "DynamoDB.PutItem": 5, ...}``, one per HTTP call;
* ``sqs``: messages carried — ``SendMessageBatch.entries``, ``ReceiveMessage.messages``,
  ``ReceiveMessage.empty`` (long polls that returned nothing), ``DeleteMessageBatch.entries``;
* ``units``: DynamoDB on-demand request units as AWS bills them, from the items' real sizes — a
  write is ``ceil(max(size before, size after) / 1 KB)`` (a failed condition still pays for the item
  it read), a strongly consistent read ``ceil(size / 4 KB)``, at least one each; and, as
  ``write.<table>.indexes``, what each secondary index whose copy of the item changed costs.

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
from dataclasses import dataclass
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
        body = read_body(environ)
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
        table_name = str(request.get("TableName", "?"))
        region = _region(environ)
        before = _item_state(region, request)
        chunks = _run(self._app, environ, start_response)
        if operation in _DYNAMODB_WRITES:
            after = _item_state(region, request)
            units = max(1, math.ceil(max(before.size, after.size) / 1024))
            kind = "write"
            index_units = _index_units(before, after)
        else:
            units = max(1, math.ceil(before.size / 4096))
            kind = "read" if request.get("ConsistentRead") else "read_eventual"
            index_units = 0
        with self._lock:
            self._add(app, "requests", f"DynamoDB.{operation}")
            self._add(app, "units", f"{kind}.{table_name}", units * (0.5 if kind == "read_eventual" else 1))
            if index_units:
                self._add(app, "units", f"write.{table_name}.indexes", index_units)
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


def read_body(environ: Environ) -> bytes:
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


@dataclass(frozen=True)
class _ItemState:
    """An item as stored (its attributes in DynamoDB's JSON, its size) and its table's indexes."""

    attributes: dict[str, Any] | None
    size: int
    indexes: tuple[Any, ...] = ()


_ABSENT = _ItemState(None, 0)


def _item_state(region: str, request: dict[str, Any]) -> _ItemState:
    """The item a request addresses, as moto stores it (absent: no attributes, size 0)."""
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
        return _ABSENT
    indexes = tuple(table.indexes) + tuple(table.global_indexes)
    if item is None:
        return _ItemState(None, 0, indexes)
    return _ItemState(item.to_json()["Attributes"], int(item.size()), indexes)


def _index_units(before: _ItemState, after: _ItemState) -> int:
    """Write units the table's secondary indexes cost: 1 KB of index item per index whose copy of
    the item appears, changes or goes (an update that touches no projected attribute costs none)."""
    units = 0
    for index in after.indexes or before.indexes:
        old, new = _projected(index, before.attributes), _projected(index, after.attributes)
        if old == new:
            continue
        for copy in (old, new) if old and new and _keys(index, old) != _keys(index, new) else (new or old,):
            units += max(1, math.ceil(len(json.dumps(copy)) / 1024))
    return units


def _projected(index: Any, attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    """The index's copy of an item, or None when the item has no value for the index's key."""
    if attributes is None or any(name not in attributes for name in index.schema_key_attrs):
        return None
    projection = (index.projection or {}).get("ProjectionType", "ALL")
    if projection == "ALL":
        return attributes
    names = set(index.table_key_attrs) | set(index.schema_key_attrs)
    if projection == "INCLUDE":
        names |= set(index.projection.get("NonKeyAttributes", []))
    return {name: value for name, value in attributes.items() if name in names}


def _keys(index: Any, copy: dict[str, Any]) -> list[Any]:
    return [copy.get(name) for name in index.schema_key_attrs]
