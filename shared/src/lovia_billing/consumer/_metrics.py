"""Consumer metrics: counted in memory, written as CloudWatch EMF (Powertools) every few seconds.

Each consumer owns its own ``AmazonCloudWatchEMFProvider`` (the ``Metrics`` facade shares one metric
set per process, which would mix integrations when tests run several consumers in one process).

Every latency and age sample is written: EMF takes at most 100 values of a metric in one line, so
the samples go out in lines of at most ``VALUES_PER_LINE`` (a line as soon as that many are
waiting, the rest at the periodic flush); CloudWatch's percentiles then see the full sample set.
"""

from __future__ import annotations

from collections import Counter

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

NAMESPACE = "LoviaBilling"
#: EMF allows 100 values per metric in one line, and Powertools prints a line on its own when a
#: metric reaches 100 (mixing in whatever else is pending); so each line we write carries 99 at most.
VALUES_PER_LINE = 99
LATENCY = "handler_latency"
AGE = "message_age"


class ConsumerMetrics:
    """Counts (processed, failed, retried, dead, duplicate; breaker_opened, breaker_closed, held_back,
    probes), handler latency and message age (ms), and the gauge ``breaker_open`` (1 while the
    circuit breaker is open or probing, else 0), written with every flush once the breaker has moved.
    """

    def __init__(self, integration: str, *, namespace: str = NAMESPACE) -> None:
        self._provider = AmazonCloudWatchEMFProvider(
            namespace=namespace, default_dimensions={"integration": integration}
        )
        self.counts: Counter[str] = Counter()
        self.totals: Counter[str] = Counter()  # since start, for tests and the benchmark
        self._latency_ms: list[float] = []
        self._age_ms: list[float] = []
        self.breaker_open: bool | None = None  # None until the breaker first moves: nothing to say

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value
        self.totals[name] += value

    def handler_latency(self, seconds: float) -> None:
        self._latency_ms.append(seconds * 1000)
        if len(self._latency_ms) >= VALUES_PER_LINE:
            self._write({}, {LATENCY: self._take(self._latency_ms)})

    def message_age(self, seconds: float) -> None:
        self._age_ms.append(max(0.0, seconds) * 1000)
        if len(self._age_ms) >= VALUES_PER_LINE:
            self._write({}, {AGE: self._take(self._age_ms)})

    def breaker(self, is_open: bool) -> None:
        self.breaker_open = is_open

    def flush(self) -> None:
        """Write what happened since the last flush: the counts once, every waiting sample."""
        counts = dict(sorted(self.counts.items()))
        self.counts.clear()
        if self.breaker_open is not None:
            # A gauge: one sample a flush, so an alarm on its maximum sees every minute it stays open.
            counts = {"breaker_open": int(self.breaker_open), **counts}
        while counts or self._latency_ms or self._age_ms:
            samples = {LATENCY: self._take(self._latency_ms), AGE: self._take(self._age_ms)}
            self._write(counts, samples)
            counts = {}

    @staticmethod
    def _take(samples: list[float]) -> list[float]:
        """Remove and return the first ``VALUES_PER_LINE`` samples."""
        taken = samples[:VALUES_PER_LINE]
        del samples[:VALUES_PER_LINE]
        return taken

    def _write(self, counts: dict[str, int], samples: dict[str, list[float]]) -> None:
        """One EMF line (nothing when there is nothing: Powertools warns on an empty flush)."""
        if not counts and not any(samples.values()):
            return
        for name, count in counts.items():
            self._provider.add_metric(name=name, unit=MetricUnit.Count, value=count)
        for name, values in samples.items():
            for sample in values:
                self._provider.add_metric(name=name, unit=MetricUnit.Milliseconds, value=sample)
        self._provider.flush_metrics()
