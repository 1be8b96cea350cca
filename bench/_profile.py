"""Sampling profiles of running processes with py-spy (from PyPI), summarised as top costs.

``Profiles.start({name: pid})`` attaches one ``py-spy record`` per process (raw collapsed stacks,
idle threads left out); ``stop()`` ends them and ``top(name)`` answers the functions where the
process spent its busy samples: *self* (the frame on top of the stack) and *inclusive* (anywhere
on it), with paths shortened to ``package/module.py``.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_SITE = re.compile(r"\((?:/[^)]*/site-packages/|/[^)]*/(?:src)/)")
_STDLIB = re.compile(r"\(/[^)]*/lib/python3\.\d+/")
_LINE = re.compile(r":\d+\)$")


def _short(frame: str) -> str:
    frame = _SITE.sub("(", frame)
    frame = _STDLIB.sub("(stdlib:", frame)
    return _LINE.sub(")", frame)


@dataclass
class Top:
    samples: int
    self_: list[tuple[float, str]]
    inclusive: list[tuple[float, str]]

    def lines(self, n: int = 8) -> list[str]:
        out = [f"{self.samples} busy samples; self:"]
        out += [f"    {pct:5.1f}%  {frame}" for pct, frame in self.self_[:n]]
        out.append("  inclusive (our code and libraries):")
        out += [f"    {pct:5.1f}%  {frame}" for pct, frame in self.inclusive[:n]]
        return out


#: Top frames of a thread that waits (py-spy's --nonblocking sampling cannot always tell it is idle).
_WAITING = ("EpollSelector.select", "_worker (", "Condition.wait", "Event.wait", "Thread.join", "sleep (")
#: Frames that enclose nearly everything (the event loop, ``main``): they tell nothing.
_SCAFFOLDING_SHARE = 0.75


def summarise(path: Path) -> Top:
    """Self and inclusive shares of a py-spy raw file (``frame;frame;frame count`` per line), over
    the samples where the process was working (waiting in ``select``, a pool or a lock left out)."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_short(f) for f in stack.split(";")]
        if frames[-1].startswith(_WAITING):
            continue
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            anywhere[frame] += n
    if not total:
        return Top(0, [], [])
    inclusive = [
        (100 * n / total, frame)
        for frame, n in anywhere.most_common()
        if n < _SCAFFOLDING_SHARE * total and not frame.startswith(("Handle._run", "<frozen"))
    ]
    return Top(total, [(100 * n / total, f) for f, n in own.most_common()], inclusive)


@dataclass
class Profiles:
    """One py-spy per process while the bench runs."""

    directory: Path
    rate: int = 100
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @staticmethod
    def available() -> bool:
        return shutil.which("py-spy", path=str(Path(sys.executable).parent)) is not None

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.txt"

    def start(self, pids: dict[str, int]) -> None:
        spy = str(Path(sys.executable).parent / "py-spy")
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            args = [spy, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw"]
            self.running[name] = subprocess.Popen(
                [*args, "--nonblocking", "--output", str(self.path(name))],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def stop(self) -> None:
        for process in self.running.values():
            process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for process in self.running.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def top(self, name: str) -> Top | None:
        path = self.path(name)
        return summarise(path) if path.exists() else None
