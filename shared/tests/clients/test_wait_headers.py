"""Each system's "wait this long" header, read the way that system writes it (pure)."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest

from lovia_billing import DownstreamUnavailable, RateLimited
from lovia_billing.clients import RETRY_AFTER, WaitHeader, WaitUnit, raise_for_status, wait_seconds
from lovia_billing.clients.erpnext._errors import WAIT_HEADERS as ERPNEXT
from lovia_billing.clients.mautic._client import RATE_LIMIT_RESET as MAUTIC_RESET
from lovia_billing.clients.xendit._client import RATE_LIMIT_RESET as XENDIT_RESET

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_retry_after_in_delta_seconds() -> None:
    assert wait_seconds({"Retry-After": "120"}, (RETRY_AFTER,), now=NOW) == 120.0


def test_retry_after_as_an_http_date() -> None:
    header = email.utils.formatdate(NOW + 90, usegmt=True)
    assert wait_seconds({"Retry-After": header}, (RETRY_AFTER,), now=NOW) == 90.0


def test_a_retry_after_in_the_past_or_unreadable_is_no_reason_to_wait_or_none() -> None:
    past = email.utils.formatdate(NOW - 90, usegmt=True)
    assert wait_seconds({"Retry-After": past}, now=NOW) == 0.0
    assert wait_seconds({"Retry-After": "soon"}, now=NOW) is None
    assert wait_seconds({"Retry-After": "nan"}, now=NOW) is None


def test_xendit_rate_limit_reset_is_decimal_seconds_left() -> None:
    assert wait_seconds({"Rate-Limit-Reset": "58.37"}, (RETRY_AFTER, XENDIT_RESET), now=NOW) == 58.37


def test_mautic_rate_limit_reset_is_a_unix_timestamp() -> None:
    headers = {"X-RateLimit-Reset": str(int(NOW) + 1800)}
    assert wait_seconds(headers, (RETRY_AFTER, MAUTIC_RESET), now=NOW) == 1800.0
    # Read as seconds it would have been a wait of about 56 years.
    assert wait_seconds(headers, (WaitHeader("X-RateLimit-Reset", WaitUnit.SECONDS_LEFT),), now=NOW) > 1e9


def test_a_mautic_reset_already_passed_means_no_wait() -> None:
    assert wait_seconds({"X-RateLimit-Reset": str(int(NOW) - 5)}, (MAUTIC_RESET,), now=NOW) == 0.0


def test_erpnext_prefers_retry_after_then_frappes_seconds_left_reset() -> None:
    assert wait_seconds({"Retry-After": "7", "X-RateLimit-Reset": "30"}, ERPNEXT, now=NOW) == 7.0
    assert wait_seconds({"X-RateLimit-Reset": "30"}, ERPNEXT, now=NOW) == 30.0


def test_header_names_are_case_insensitive_in_a_response() -> None:
    headers = httpx.Headers({"x-ratelimit-reset": str(int(NOW) + 60)})
    assert wait_seconds(headers, (MAUTIC_RESET,), now=NOW) == 60.0


def test_no_header_means_the_runtime_backoff_decides() -> None:
    assert wait_seconds({}, (RETRY_AFTER, XENDIT_RESET, MAUTIC_RESET), now=NOW) is None


@pytest.mark.parametrize(("status", "error"), [(429, RateLimited), (503, DownstreamUnavailable)])
def test_raise_for_status_carries_the_wait_of_the_systems_own_header(
    status: int, error: type[Exception]
) -> None:
    request = httpx.Request("GET", "https://mautic.example/api/contacts")
    reset = str(int(time.time()) + 600)
    response = httpx.Response(status, headers={"X-RateLimit-Reset": reset}, request=request)
    with pytest.raises(error) as caught:
        raise_for_status(response, "limited", system="mautic", wait_headers=(RETRY_AFTER, MAUTIC_RESET))
    wait = caught.value.retry_after  # type: ignore[attr-defined]
    assert wait is not None
    assert 595 < wait <= 600
