"""Bad arguments: one line, exit 2. Operational errors: one line, exit 1. Also as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from lovia_billing import Topology

BILLING = Path(sys.executable).parent / "billing"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["dlq", "show", "nope"], "'nope' is not one of 'xendit', 'erpnext', 'chartmogul', 'mautic'"),
        (["dlq", "redrive"], "Missing argument 'integration'"),
        (["dlq", "show", "--limit", "0"], "Invalid value for '--limit'"),
        (["events", "search", "--status", "gone"], "'gone' is not one of 'queued'"),
        (["queues", "--bogus"], "No such option: --bogus"),
        (["dlq", "redrive", "erpnext"], "give either --event-id ID (one or more) or --all"),
        (["dlq", "redrive", "erpnext", "--all", "--event-id", "e1"], "give either --event-id"),
        (["dlq", "redrive", "erpnext", "--native"], "give either"),
        (["dlq", "redrive", "erpnext", "--all", "--native", "--dry-run"], "--native moves a whole queue"),
        (["events", "replay", "e1", "--integration", "crm"], "'crm' is not one of"),
        (["queues", "--stage", "no stage"], "'no stage' is not a stage name"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(
    args: list[str], says: str, billing: Callable[..., Result]
) -> None:
    result = billing(*args)
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert says in lines[0]
    assert result.stdout == ""


def test_a_bad_argument_in_a_real_process_gives_one_line_and_exit_2() -> None:
    done = subprocess.run(
        [str(BILLING), "dlq", "redrive", "crm", "--all"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: Invalid value for 'integration': 'crm' is not one of 'xendit', 'erpnext', 'chartmogul',"
        " 'mautic'. (see 'billing dlq redrive --help')"
    ]


def test_a_stage_without_queues_names_the_missing_queue(
    aws_endpoint: str, billing: Callable[..., Result]
) -> None:
    result = billing("dlq", "show", "erpnext", "--stage", "nosuchstage")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: queue nosuchstage-billing-erpnext-dlq.fifo does not exist (stage 'nosuchstage')"
    ]


def test_the_stage_comes_from_billing_stage(topology: Topology, billing: Callable[..., Result]) -> None:
    result = billing("events", "show", "evt-none", env={"BILLING_STAGE": topology.stage})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: event evt-none is not in the ledger (stage {topology.stage!r})"
    ]


def test_a_stage_without_tables_names_the_missing_table(
    aws_endpoint: str, billing: Callable[..., Result]
) -> None:
    result = billing("events", "show", "evt-none", "--stage", "notables")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: table notables-billing-ledger does not exist (stage 'notables')"
    ]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_endpoint_is_one_line(aws_endpoint: str, billing: Callable[..., Result]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    result = billing("queues", env={"AWS_ENDPOINT_URL": url})
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"error: cannot reach {url}/ (is AWS_ENDPOINT_URL right and the stand-in running?)"
    ]


def test_missing_credentials_are_one_line(aws_endpoint: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    env = {
        k: v for k, v in env.items() if v and k not in ("AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI")
    }
    done = subprocess.run(
        [str(BILLING), "queues"], capture_output=True, text=True, timeout=60, env=env, check=False
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "error: no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    ]


def test_native_redrive_on_the_stand_in_says_to_run_without_it(
    topology: Topology, billing: Callable[..., Result]
) -> None:
    result = billing("dlq", "redrive", "erpnext", "--all", "--native", "--stage", topology.stage)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: this endpoint does not implement StartMessageMoveTask (HTTP 500; the local stand-in has"
        " none): run without --native"
    ]
