"""Structured JSON logs (Powertools Logger).

Async code runs many events at once in one thread, so per-event keys (event id, type, customer,
correlation id) are passed per call (``log.info("processed", extra=keys)``), never appended to the
shared logger. Secrets are never passed at all: ``SecretStr`` settings and request headers stay out
of ``extra`` (``services/ingest/tests/test_webhooks.py`` checks the ingest's lines).
"""

from __future__ import annotations

import logging

from aws_lambda_powertools import Logger


def get_logger(service: str, level: str = "INFO") -> Logger:
    """The service's JSON logger (one per process)."""
    return Logger(service=service, level=level, use_rfc3339=True)


def route_library_logs(logger: Logger, level: str = "WARNING") -> None:
    """Make ``logger``'s JSON handler the only one in the process (call once, in ``main``).

    Other libraries' records (botocore, uvicorn, asyncio) from ``level`` up go through the same
    handler, as JSON; the service's own records stop at its logger, so each is written once.
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(logger.registered_handler)
    root.setLevel(level)
    logging.getLogger(logger.service).propagate = False
