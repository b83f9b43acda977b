"""A small progress line on stderr: cells done, rate, ETA (redrawn on a terminal, sparse in logs)."""

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

    def update(self, n: int, failed: int = 0) -> None:
        self.done += n
        self.failed += failed
        now = time.perf_counter()
        if self.enabled and (self.tty or now - self._last_print >= 5 or self.done == self.total):
            self._last_print = now
            end = "\n" if not self.tty or self.done == self.total else ""
            self.stream.write(("\r" if self.tty else "") + self.line(now) + end)
            self.stream.flush()

    def line(self, now: float) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("nan")
        width = 24
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        failed = f", {self.failed} failed" if self.failed else ""
        return (
            f"[{bar}] {self.done}/{self.total} cells{failed} | {rate:.1f} cells/s | "
            f"elapsed {_clock(elapsed)} | ETA {_clock(eta)}"
        )


def _clock(seconds: float) -> str:
    if seconds != seconds:  # NaN
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"
