"""Structured JSON logs (Powertools Logger).

Async code runs many events at once in one thread, so per-event keys (event id, type, customer,
correlation id) are passed per call (``log.info("processed", extra=keys)``), never appended to the
shared logger. Secrets are never passed at all: ``SecretStr`` settings and request headers stay out
of ``extra`` (``services/ingest/tests/test_webhooks.py`` checks the ingest's lines).
"""

from __future__ import annotations

from aws_lambda_powertools import Logger


def get_logger(service: str, level: str = "INFO") -> Logger:
    """The service's JSON logger (one per process)."""
    return Logger(service=service, level=level, use_rfc3339=True)
