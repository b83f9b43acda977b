"""The progress line: the batch just finished, and an ETA that ignores the one-off start (model load)."""

from __future__ import annotations

import io

import bench.progress as progress


def test_eta_counts_from_the_first_batch_and_the_line_names_it(monkeypatch):
    clock = iter([0.0, 10.0, 11.0, 11.0])
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    out = io.StringIO()
    bar = progress.Progress(100, out)
    bar.update(10, 0, "Euler a · 20 steps")  # the first batch ends 10 s in: loading and warm-up included
    bar.update(10, 1, "DPM++ 2M · 20 steps")  # then 10 cells in 1 s
    line = bar.line(11.0)
    assert "20/100 cells, 1 failed" in line and "DPM++ 2M · 20 steps" in line
    assert "10.0 cells/s" in line and "ETA 0:08" in line  # 80 cells at 10/s, not 80 at 20/11 (0:44)
