"""Output that reads at 80 columns: one block per item, ids on lines of their own, never broken.

Tables fold long cells, which cuts a 36-character event id in two; an operator copies ids from
this output, so items are printed as short indented blocks that wrap only at spaces.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.padding import Padding
from rich.text import Text

from billing_cli._output import console

STYLES = {
    "done": "green",
    "dead": "bold red",
    "not_queued": "bold red",
    "retrying": "yellow",
}


def when(moment: datetime | str | None) -> str:
    """``2026-11-25 03:04:05Z`` (UTC, to the second), or ``-``."""
    if moment is None or moment == "":
        return "-"
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def status(name: str) -> Text:
    return Text(name, style=STYLES.get(name, ""))


def line(*parts: str | Text, indent: int = 0, separator: str = " · ") -> None:
    """Parts joined on one line (wrapped at spaces when wider than the terminal), indented."""
    text = Text()
    for index, part in enumerate(p for p in parts if p):
        if index:
            text.append(separator)
        text.append(part)
    text.no_wrap = False
    text.overflow = "fold"
    console.print(Padding(text, (0, 0, 0, indent), expand=False))


def reason_of(error: str | None) -> str:
    """What kind of failure an error is: its text up to the first colon (``PermanentError``)."""
    if not error:
        return "(no reason recorded)"
    kind = error.split(":", 1)[0].strip()
    return kind[:60] or "(no reason recorded)"
