"""``billing erpnext setup`` against the ERPNext sandbox: creates what is missing, then changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lovia_billing.clients.erpnext import CUSTOM_FIELDS

KEY, SECRET = "local-erpnext-key", "local-erpnext-secret"


def test_setup_creates_the_custom_fields_once(sandbox_url: Callable[..., str], billing: Any) -> None:
    url = sandbox_url("erpnext", seed_custom_fields=False)
    env = {"ERPNEXT_BASE_URL": url, "ERPNEXT_API_KEY": KEY, "ERPNEXT_API_SECRET": SECRET}

    first = billing("erpnext", "setup", "--json", env=env)
    second = billing("erpnext", "setup", env=env)

    assert first.exit_code == 0, first.output
    assert '"created"' in first.stdout
    assert first.stdout.count('"created"') == len(CUSTOM_FIELDS)
    assert second.exit_code == 0, second.output
    assert second.stdout.count("unchanged") == len(CUSTOM_FIELDS)
    assert SECRET not in first.output + second.output


def test_setup_without_credentials_names_the_settings(billing: Any) -> None:
    result = billing("erpnext", "setup", env={"ERPNEXT_API_KEY": None, "ERPNEXT_API_SECRET": None})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: missing or invalid setting: ERPNEXT_API_KEY, ERPNEXT_API_SECRET"
    ]


def test_setup_with_a_wrong_secret_is_one_line(sandbox_url: Callable[..., str], billing: Any) -> None:
    url = sandbox_url("erpnext")
    result = billing(
        "erpnext",
        "setup",
        env={"ERPNEXT_BASE_URL": url, "ERPNEXT_API_KEY": KEY, "ERPNEXT_API_SECRET": "wrong"},
    )
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: ERPNext at {url}: ")
    assert "wrong" not in line
