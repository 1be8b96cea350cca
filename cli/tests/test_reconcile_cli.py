"""``billing reconcile`` exits 2 with one line on every error, before it touches anything."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from billing_testing.servers import free_port

SETTINGS = {
    "XENDIT_SECRET_KEY": "xnd_development_x",
    "ERPNEXT_API_KEY": "k",
    "ERPNEXT_API_SECRET": "s",
    "CHARTMOGUL_API_KEY": "c",
    "CHARTMOGUL_DATA_SOURCE_UUID": "ds_x",
    "MAUTIC_CLIENT_ID": "m",
    "MAUTIC_CLIENT_SECRET": "m",
}


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (["--since", "soon"], SETTINGS, "'soon' is not a date"),
        (["--since", "today", "--until", "yesterday"], SETTINGS, "the window is empty"),
        (["--integration", "xendit"], SETTINGS, "'xendit' is not one of"),
        ([], {**SETTINGS, "XENDIT_SECRET_KEY": None}, "missing setting: XENDIT_SECRET_KEY"),
        (["--integration", "mautic"], {**SETTINGS, "MAUTIC_CLIENT_ID": None}, "MAUTIC_CLIENT_ID"),
        ([], {**SETTINGS, "RECONCILE_PAGE_SIZE": "500"}, "invalid setting: RECONCILE_PAGE_SIZE"),
        ([], {**SETTINGS, "RECONCILE_TIME_ZONE": "Mars/Olympus"}, "Mars/Olympus"),
    ],
)
def test_bad_arguments_and_settings_exit_2_with_one_line(
    billing: Callable[..., Any], args: list[str], env: dict[str, str | None], says: str, tmp_path: Any
) -> None:
    result = billing("reconcile", *args, "--report-dir", str(tmp_path), env=env)
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    assert says in line
    assert not list(tmp_path.iterdir())  # no report for a run that did not happen


def test_an_unreachable_xendit_is_an_error_not_drift(billing: Callable[..., Any], tmp_path: Any) -> None:
    env = {**SETTINGS, "XENDIT_BASE_URL": f"http://127.0.0.1:{free_port()}", "AWS_REGION": "ap-southeast-1"}
    result = billing("reconcile", "--since", "today", "--report-dir", str(tmp_path), env=env)
    assert result.exit_code == 2, result.output
    assert "error: DownstreamUnavailable: xendit GET /v2/invoices" in result.stderr
