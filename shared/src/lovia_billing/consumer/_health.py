"""Liveness through a heartbeat file: the consumer touches it on every poll; the check reads its age."""

from __future__ import annotations

import time
from pathlib import Path

DEFAULT_MAX_AGE_SECONDS = 90.0


def heartbeat_age(path: Path, *, now: float | None = None) -> float | None:
    """Seconds since the file was last touched, or None if it does not exist."""
    try:
        modified = path.stat().st_mtime
    except OSError:
        return None
    return (time.time() if now is None else now) - modified


def is_fresh(path: Path, max_age: float = DEFAULT_MAX_AGE_SECONDS) -> bool:
    age = heartbeat_age(path)
    return age is not None and age <= max_age
