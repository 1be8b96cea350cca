"""Consumer metrics as CloudWatch reads them: EMF lines with every sample, 100 values a line at most."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lovia_billing.consumer import ConsumerMetrics
from lovia_billing.consumer._metrics import NAMESPACE, VALUES_PER_LINE

EMF_MAX_VALUES = 100  # per metric per line (CloudWatch embedded metric format)


def emf_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def values(line: dict[str, Any], name: str) -> list[float]:
    value = line.get(name, [])
    return value if isinstance(value, list) else [value]


def test_every_sample_is_written_in_lines_emf_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    metrics = ConsumerMetrics("erpnext")
    latencies = [i / 1000 for i in range(1, 251)]  # 1..250 ms
    ages = [i / 100 for i in range(130)]
    for latency in latencies:
        metrics.handler_latency(latency)
        metrics.count("processed")
    for age in ages:
        metrics.message_age(age)
    metrics.count("failed", 3)
    metrics.flush()
    lines = emf_lines(capsys.readouterr().out)
    written_latency = [v for line in lines for v in values(line, "handler_latency")]
    written_age = [v for line in lines for v in values(line, "message_age")]
    assert sorted(written_latency) == pytest.approx(sorted(s * 1000 for s in latencies))
    assert sorted(written_age) == pytest.approx(sorted(a * 1000 for a in ages))
    assert sum(v for line in lines for v in values(line, "processed")) == 250
    assert sum(v for line in lines for v in values(line, "failed")) == 3
    for line in lines:
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        assert directive["Dimensions"] == [["integration"]]
        assert line["integration"] == "erpnext"
        for metric in directive["Metrics"]:
            assert len(values(line, metric["Name"])) <= min(VALUES_PER_LINE, EMF_MAX_VALUES)


def test_a_full_line_of_samples_is_written_before_the_periodic_flush(
    capsys: pytest.CaptureFixture[str],
) -> None:
    metrics = ConsumerMetrics("mautic")
    for _ in range(VALUES_PER_LINE - 1):
        metrics.handler_latency(0.01)
    assert emf_lines(capsys.readouterr().out) == []
    metrics.handler_latency(0.01)
    (line,) = emf_lines(capsys.readouterr().out)
    assert len(values(line, "handler_latency")) == VALUES_PER_LINE
    metrics.flush()
    assert emf_lines(capsys.readouterr().out) == [], "nothing left over, nothing written twice"
