"""Structured JSON logs (Powertools Logger) with the keys every line of ours carries.

Async code runs many events at once in one thread, so per-event keys are passed per call
(``log.info("done", extra=event_keys(event))``), never appended to the shared logger.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

#: Field names that must never reach a log line, whatever a caller passes.
REDACTED_KEYS = frozenset({"authorization", "x-callback-token", "api_key", "token", "secret", "password"})


def get_logger(service: str, level: str = "INFO") -> Logger:
    """The service's JSON logger (one per process)."""
    return Logger(service=service, level=level, use_rfc3339=True)


def redact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: ("[redacted]" if k.lower() in REDACTED_KEYS else v) for k, v in values.items()}
