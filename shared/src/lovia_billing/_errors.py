"""The exceptions of Lovia Billing, one hierarchy for every service.

    BillingError
    ├── RetryableError              try again later: the same request may well succeed
    │   ├── DownstreamTimeout       no answer in time; the outcome of a write is unknown
    │   ├── DownstreamUnavailable   connection refused/reset, 5xx
    │   └── RateLimited             429; ``retry_after`` seconds from the downstream's header
    ├── PermanentError              the same request will never succeed; dead-letter it with the reason
    │   └── ConfirmationMismatch    a callback that the downstream's own API does not confirm
    ├── PublishError                an event could not be put on every queue it is routed to
    └── ConfigurationError          settings missing or inconsistent; the process should not start

Unknown exceptions raised by a handler are treated as retryable by the consumer runtime.
"""

from __future__ import annotations


class BillingError(Exception):
    """Base of every error raised on purpose by Lovia Billing."""


class RetryableError(BillingError):
    """A failure that may go away: the runtime retries with backoff, honouring ``retry_after``."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class DownstreamTimeout(RetryableError):
    """The downstream did not answer in time; a write may or may not have happened."""


class DownstreamUnavailable(RetryableError):
    """Connection failure or a 5xx from the downstream."""


class RateLimited(RetryableError):
    """The downstream answered 429; ``retry_after`` is how long it asked us to wait."""


class PermanentError(BillingError):
    """The request can never succeed as it is (validation, unknown reference, forged data)."""


class ConfirmationMismatch(PermanentError):
    """A callback claimed something that the downstream's API does not confirm."""


class PublishError(BillingError):
    """Publishing failed for some queues; ``failed_queues`` names them, nothing else is claimed."""

    def __init__(self, message: str, *, failed_queues: list[str]) -> None:
        super().__init__(message)
        self.failed_queues = failed_queues


class ConfigurationError(BillingError):
    """A setting is missing or inconsistent."""
