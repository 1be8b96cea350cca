"""How long a downstream asks us to wait, read from the header each system really sends (pure).

The systems say it three ways, and reading one the way of another is wrong by orders of magnitude:

* ``Retry-After`` (RFC 9110): delta seconds or an HTTP date. ERPNext (Frappe's limiter) sends it on a
  refused request; ChartMogul documents none but the client honours it if it ever appears.
* seconds left, possibly decimal: Xendit's ``Rate-Limit-Reset`` (``58.37``); Frappe's
  ``X-RateLimit-Reset`` (seconds until its window ends).
* a Unix timestamp: Mautic's ``X-RateLimit-Reset``, written by noxlogic/ratelimit-bundle as
  ``time() + period`` (``RateLimitInfo::getResetTimestamp``). Read as seconds it would be a wait of
  about 1.7 billion seconds.

A client lists its system's headers in order of preference; the first one present and readable wins.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["RETRY_AFTER", "WaitHeader", "WaitUnit", "wait_seconds"]


class WaitUnit(StrEnum):
    RETRY_AFTER = "retry-after"  # delta seconds or an HTTP date
    SECONDS_LEFT = "seconds-left"  # delta seconds, decimal allowed
    EPOCH = "epoch"  # a Unix timestamp in seconds


@dataclass(frozen=True)
class WaitHeader:
    """One response header that says how long to wait, and how to read it."""

    name: str
    unit: WaitUnit

    def seconds(self, headers: Mapping[str, str], now: float) -> float | None:
        """Seconds to wait from now (never negative), or None if absent or unreadable."""
        value = headers.get(self.name)
        if not value:
            return None
        try:
            number = float(value)
        except ValueError:
            if self.unit is not WaitUnit.RETRY_AFTER:
                return None
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            return max(0.0, moment.timestamp() - now)
        if number != number or number in (float("inf"), float("-inf")):  # NaN or infinite
            return None
        if self.unit is WaitUnit.EPOCH:
            return max(0.0, number - now)
        return max(0.0, number)


RETRY_AFTER = WaitHeader("Retry-After", WaitUnit.RETRY_AFTER)


def wait_seconds(
    headers: Mapping[str, str], readers: Sequence[WaitHeader] = (RETRY_AFTER,), *, now: float | None = None
) -> float | None:
    """The wait the first readable header of ``readers`` asks for; None when none says."""
    moment = time.time() if now is None else now
    for reader in readers:
        seconds = reader.seconds(headers, moment)
        if seconds is not None:
            return seconds
    return None
