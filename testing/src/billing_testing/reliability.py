"""The reliability suite's tally: what each scenario sent and injected, and what it found."""

from __future__ import annotations

from dataclasses import dataclass, field

from billing_testing.e2e import Verdict


@dataclass
class Row:
    scenario: str
    events: int = 0  # requests and callbacks the ingest acknowledged (duplicates included)
    duplicates: int = 0  # extra copies of an event: callback copies, client retries, replays
    kills: int = 0  # SIGKILLs and stops of processes
    faults: int = 0  # injected downstream faults that fired
    lost: int = 0
    duplicated: int = 0
    seconds: float = 0.0
    down_seconds: float | None = None  # how long a downstream was down (outage scenarios)
    max_receives: int | None = None  # the most receives any one message took in that scenario
    refused: int = 0  # requests the ingest answered 503 (not taken: the sender retries)
    slowest: float | None = None  # the longest the ingest took to answer one request, s


@dataclass
class Tally:
    rows: list[Row] = field(default_factory=list)
    startup_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # figures a scenario reports beside the table

    def record(self, row: Row, verdict: Verdict) -> None:
        """Count what a check found (before the test asserts on it, so the table shows failures too)."""
        row.lost = max(row.lost, len(verdict.lost))
        row.duplicated = max(row.duplicated, len(verdict.duplicated))

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def table(self) -> list[str]:
        counted = ("events", "duplicates", "kills", "faults", "lost", "duplicated", "refused")
        header = ["scenario", *counted, "down s", "max receives", "slowest answer", "seconds"]
        rows = [
            [
                r.scenario,
                *(str(getattr(r, name)) for name in counted),
                "-" if r.down_seconds is None else f"{r.down_seconds:.1f}",
                "-" if r.max_receives is None else str(r.max_receives),
                "-" if r.slowest is None else f"{r.slowest:.1f}",
                f"{r.seconds:.1f}",
            ]
            for r in self.rows
        ]
        totals = [str(sum(int(row[i]) for row in rows)) for i in range(1, len(counted) + 1)]
        slowest = [r.slowest for r in self.rows if r.slowest is not None]
        rows.append(
            [
                "TOTAL",
                *totals,
                "",
                "",
                f"{max(slowest):.1f}" if slowest else "-",
                f"{sum(r.seconds for r in self.rows):.1f}",
            ]
        )
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]

        def line(cells: list[str]) -> str:
            pairs = enumerate(zip(cells, widths, strict=True))
            return " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs)

        return [
            line(header),
            "-+-".join("-" * w for w in widths),
            *map(line, rows),
            f"stack start-up: {self.startup_seconds:.1f} s",
            *self.notes,
        ]


TALLY = Tally()
