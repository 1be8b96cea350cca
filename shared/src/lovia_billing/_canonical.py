"""Canonical JSON and deterministic event ids: the first layer of exactly-once.

A message body must be a pure function of the logical event, so that SQS's content-based
deduplication drops a retried webhook or API call. Keys are sorted, there is no white space and no
arrival timestamp (those travel as message attributes).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

#: Fixed namespace for uuid5 event ids. Never change it: every stored id depends on it.
EVENT_ID_NAMESPACE = uuid.UUID("6f1d2c3e-8b4a-5e2f-9c7d-1a2b3c4d5e6f")


def canonical_json(data: Any) -> str:
    """Serialise JSON-ready data canonically (sorted keys, compact, UTF-8 kept)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def derive_event_id(event_type: str, *natural_key: str) -> str:
    """The event id of ``event_type`` for its natural key: the same inputs, the same id, forever."""
    if not natural_key or any(not part for part in natural_key):
        raise ValueError(f"{event_type}: every part of the natural key must be non-empty")
    name = "\x1f".join((event_type, *natural_key))
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))


def body_hash(text: str) -> str:
    """A short stable fingerprint of a body, to tell a retry from a conflicting request."""
    return hashlib.sha256(text.encode()).hexdigest()
