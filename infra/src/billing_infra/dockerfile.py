"""A small reader of the repository's Dockerfile: its stages and instructions, for the tests.

Just enough to replay a target's build steps outside Docker (no engine on the development machines):
continuation lines are joined, comments dropped, ``FROM <image> AS <name>`` starts a stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_FROM = re.compile(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$", re.IGNORECASE)


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (KEYWORD, arguments)

    def args(self, keyword: str) -> list[str]:
        return [arguments for kw, arguments in self.instructions if kw == keyword.upper()]


def logical_lines(text: str) -> list[str]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1].strip() + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    return lines


def parse(path: Path) -> dict[str, Stage]:
    """The named stages in file order (an unnamed stage is keyed by its position)."""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in logical_lines(path.read_text()):
        keyword, _, arguments = line.partition(" ")
        match = _FROM.match(line)
        if match:
            current = Stage(match.group(2) or str(len(stages)), match.group(1))
            stages[current.name] = current
        elif current is not None:
            current.instructions.append((keyword.upper(), arguments.strip()))
    return stages


def lineage(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built ``FROM``, oldest first."""
    chain = [stages[name]]
    while chain[0].base in stages:
        chain.insert(0, stages[chain[0].base])
    return chain
