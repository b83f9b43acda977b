"""A small progress line on stderr: cells done, the batch just finished, rate, ETA (redrawn on a terminal,
sparse in logs).

The rate, and so the ETA, counts from the end of the first batch: model loading and the first warm-ups are
one-off costs, and counting them would make the ETA wrong for the whole run.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.stream.isatty()
        self.start = time.perf_counter()
        self._last_print = -1.0
        self._first: tuple[float, int] | None = None  # (when, cells done) at the end of the first batch
        self.label = ""

    def update(self, n: int, failed: int = 0, label: str = "") -> None:
        self.done += n
        self.failed += failed
        self.label = label or self.label
        now = time.perf_counter()
        if self._first is None:
            self._first = (now, self.done)
        if self.enabled and (self.tty or now - self._last_print >= 5 or self.done == self.total):
            self._last_print = now
            end = "\n" if not self.tty or self.done == self.total else ""
            self.stream.write(("\r" if self.tty else "") + self.line(now) + end)
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        since, base = self._first or (self.start, 0)
        steady = self.done - base
        rate = steady / (now - since) if steady > 0 and now > since else self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        label = f" | {self.label[:40]}" if self.label else ""
        return (
            f"[{bar}] {self.done}/{self.total} cells{failed}{label} | {rate:.1f} cells/s | "
            f"elapsed {_clock(elapsed)} | ETA {_clock(eta)}"
        )


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"
