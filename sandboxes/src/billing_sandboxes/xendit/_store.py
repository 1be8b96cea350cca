"""In-memory records shaped exactly like Xendit's JSON, and the ``idempotency-key`` memory.

Handlers run on the sandbox's one event loop, so a read-check-write inside a handler (no ``await``
in between) is atomic; the lock only guards readers on other threads.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from billing_sandboxes.xendit._errors import XenditApiError, conflict

Record = dict[str, Any]


class Store:
    """One product's objects by id, oldest first; reads and writes hand out copies."""

    def __init__(self, not_found: Callable[[str], XenditApiError], key: str = "id") -> None:
        self._records: dict[str, Record] = {}
        self._not_found = not_found
        self._key = key
        self._lock = threading.Lock()

    def add(self, record: Record) -> Record:
        with self._lock:
            self._records[record[self._key]] = record
            return dict(record)

    def find(self, record_id: str) -> Record | None:
        with self._lock:
            record = self._records.get(record_id)
            return None if record is None else dict(record)

    def get(self, record_id: str) -> Record:
        record = self.find(record_id)
        if record is None:
            raise self._not_found(record_id)
        return record

    def update(self, record_id: str, changes: dict[str, Any]) -> Record:
        with self._lock:
            record = self._records.get(record_id)
            if record is None:
                raise self._not_found(record_id)
            record.update(changes)
            return dict(record)

    def all(self) -> list[Record]:
        with self._lock:
            return [dict(record) for record in self._records.values()]

    def where(self, check: Callable[[Record], bool]) -> list[Record]:
        return [record for record in self.all() if check(record)]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()


def _fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyKeys:
    """``idempotency-key`` per endpoint: same key and body → the first object; another body → 409.

    Xendit's retention time for these keys is undocumented; the sandbox keeps them until reset.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[str, str]] = {}
        self._lock = threading.Lock()

    def replay(self, scope: str, key: str | None, body: Any) -> str | None:
        """The id created earlier under ``key`` for this same body, or None when the key is new."""
        if not key:
            return None
        with self._lock:
            seen = self._seen.get((scope, key))
        if seen is None:
            return None
        fingerprint, object_id = seen
        if fingerprint != _fingerprint(body):
            raise conflict(
                "DUPLICATE_ERROR",
                f"A request with this idempotency-key ({key}) already exists with a different body. "
                "Use a new idempotency-key.",
            )
        return object_id

    def remember(self, scope: str, key: str | None, body: Any, object_id: str) -> None:
        if key:
            with self._lock:
                self._seen[(scope, key)] = (_fingerprint(body), object_id)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
