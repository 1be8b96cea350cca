"""The model-based test's figures, printed at the end of the session."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from billing_testing.model.world import Truth, World

#: What ``world.violations`` checks after every run.
INVARIANTS = (
    "every Xendit-confirmed payment booked exactly once in ERPNext",
    "every Xendit-confirmed payment booked exactly once in ChartMogul",
    "nothing booked without Xendit's confirmation",
    "every Xendit-confirmed refund booked exactly once in ERPNext and ChartMogul",
    "no Xendit invoice for a refused request; exactly one per accepted request",
    "one Sales Invoice and one ChartMogul invoice per accepted invoice",
    "Mautic billing tags equal the facts",
    "every queue drained; DLQs hold only forged callbacks",
)


@dataclass
class Summary:
    runs: int = 0
    steps: Counter[str] = field(default_factory=Counter)
    payments: int = 0
    refunds: int = 0
    forged: int = 0
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Forged callbacks of every run so far: their dead letters stay in the DLQs, explained.
    forged_events: set[str] = field(default_factory=set)

    def record(self, world: World, truth: Truth, found: list[str]) -> None:
        self.runs += 1
        self.steps.update(world.steps)
        self.payments += len(truth.payments)
        self.refunds += len(truth.refunds)
        self.forged += len(world.forged_events)
        self.forged_events |= world.forged_events
        self.violations += found

    def lines(self) -> list[str]:
        total = sum(self.steps.values())
        lines = [
            f"runs: {self.runs}, steps: {total} ({total / max(self.runs, 1):.1f} per run), "
            f"in {self.seconds:.0f} s",
            f"Xendit-confirmed payments: {self.payments}, refunds: {self.refunds}, "
            f"forged callbacks: {self.forged}",
            f"invariants checked after each run: {len(INVARIANTS)} "
            f"({len(INVARIANTS) * self.runs} checks), violations: {len(self.violations)}",
        ]
        lines += [f"  {count:4d}  {kind}" for kind, count in self.steps.most_common()]
        return lines


SUMMARY = Summary()
