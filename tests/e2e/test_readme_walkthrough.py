"""The README's "Try it" section, run as written against a local stack: every ``curl`` must succeed.

The section's ``sh`` blocks are one shell session. They run under ``bash -euo pipefail`` with
``curl`` made strict (``--fail-with-body``: an HTTP error is a failed command), against a stack on
free ports: ``localhost:<make run's port>`` becomes the stack's port, ``.local/env`` an env file
written the way ``make run`` writes it, ``.venv/bin/`` this interpreter's. Then the books are read
back to check the walkthrough did what it says.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from billing_cli.dev import write_env_file
from billing_testing.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.compile(r"^## Try it.*?(?=^## )", re.S | re.M)
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
PRELUDE = """\
set -euxo pipefail
shopt -s inherit_errexit
curl() { command curl --fail-with-body --max-time 30 "$@"; }
"""


def walkthrough() -> str:
    """The section's ``sh`` blocks, in order, as one script."""
    section = SECTION.search((ROOT / "README.md").read_text())
    assert section is not None, "README.md has no '## Try it' section"
    blocks = SH_BLOCK.findall(section.group(0))
    assert len(blocks) >= 3, "the walkthrough, where to see the result, a callback made up by hand"
    return "\n".join(blocks)


def localised(script: str, stack: Stack, env_file: Path) -> str:
    """``script`` pointed at ``stack``: its ports, its env file, this interpreter's scripts."""

    def port(match: re.Match[str]) -> str:
        default = int(match[1])
        assert default in stack.port_for_default, f"README: port {default} is not one of make run's"
        return f"localhost:{stack.port_for_default[default]}"

    script = re.sub(r"localhost:(\d+)", port, script)
    script = script.replace(". .local/env", f". {env_file}")
    return script.replace(".venv/bin/", f"{Path(sys.executable).parent}/")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with Stack(Path(tmp_path_factory.mktemp("readme-stack")), stage="readme") as running:
        yield running


def test_the_readme_walkthrough_runs_as_written_and_books_the_payment(stack: Stack, tmp_path: Path) -> None:
    consumer_env = stack.procs["xendit-sync"].env
    env_file = write_env_file(tmp_path / "logs", stack.stage, {**consumer_env, **stack.aws_env})
    script = PRELUDE + localised(walkthrough(), stack, env_file)
    (tmp_path / "walkthrough.sh").write_text(script)

    done = subprocess.run(
        ["bash", str(tmp_path / "walkthrough.sh")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"the walkthrough stopped (exit {done.returncode}):\n{done.stderr[-3000:]}"

    # What the walkthrough says happened, read back from the systems themselves.
    assert "{'xendit': 'done'}" in done.stdout
    assert "{'erpnext': 'done', 'chartmogul': 'done', 'mautic': 'done'}" in done.stdout
    assert "{'xendit': 'dead'}" in done.stdout
    assert "nothing booked" in done.stdout  # the made-up callback's reason, in its record and the DLQ
    erpnext = httpx.get(
        stack.url("erpnext-sandbox") + "/api/resource/Payment Entry",
        params={"fields": '["*"]'},
        headers={"Authorization": "token local-erpnext-key:local-erpnext-secret"},
    ).json()["data"]
    assert len(erpnext) == 1, f"one payment, one Payment Entry: {erpnext}"
    assert Decimal(str(erpnext[0]["paid_amount"])) == Decimal("150000")
