"""Consumer metrics: counted in memory, written as CloudWatch EMF (Powertools) every few seconds.

Each consumer owns its own ``AmazonCloudWatchEMFProvider`` (the ``Metrics`` facade shares one metric
set per process, which would mix integrations when tests run several consumers in one process).
"""

from __future__ import annotations

from collections import Counter

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

NAMESPACE = "LoviaBilling"
#: EMF allows 100 values per metric in one document, and Powertools prints on its own as soon as a
#: metric reaches 100; we keep 99 samples a flush so that only our periodic flush writes.
MAX_SAMPLES = 99


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
        if len(self._latency_ms) < MAX_SAMPLES:
            self._latency_ms.append(seconds * 1000)

    def message_age(self, seconds: float) -> None:
        if len(self._age_ms) < MAX_SAMPLES:
            self._age_ms.append(max(0.0, seconds) * 1000)

    def breaker(self, is_open: bool) -> None:
        self.breaker_open = is_open

    def flush(self) -> None:
        """Write one EMF document if anything happened since the last flush (or a breaker is open)."""
        if not (self.counts or self._latency_ms or self._age_ms or self.breaker_open is not None):
            return  # Powertools warns on an empty flush, and an empty document says nothing
        if self.breaker_open is not None:
            # A gauge: one sample a flush, so an alarm on its maximum sees every minute it stays open.
            self._provider.add_metric(
                name="breaker_open", unit=MetricUnit.Count, value=int(self.breaker_open)
            )
        for name, value in sorted(self.counts.items()):
            self._provider.add_metric(name=name, unit=MetricUnit.Count, value=value)
        for sample in self._latency_ms:
            self._provider.add_metric(name="handler_latency", unit=MetricUnit.Milliseconds, value=sample)
        for sample in self._age_ms:
            self._provider.add_metric(name="message_age", unit=MetricUnit.Milliseconds, value=sample)
        self.counts.clear()
        self._latency_ms.clear()
        self._age_ms.clear()
        self._provider.flush_metrics()
