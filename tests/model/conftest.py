"""One real stack for the model-based test, on its own stage and free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from billing_testing.model.summary import SUMMARY
from billing_testing.stack import Stack, scenario_stack


@pytest.fixture(scope="session")
def model_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with scenario_stack(Path(tmp_path_factory.mktemp("model-stack")), "model") as running:
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY.runs:
        terminalreporter.write_sep("=", "model-based test")
        for line in SUMMARY.lines():
            terminalreporter.write_line(line)
