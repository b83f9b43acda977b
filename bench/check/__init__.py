"""Regression checks for CI: `bench baseline` records a run, `bench check` compares a run against it.

baseline.py    the versioned baseline file and run snapshots     tolerances.py  "10%" / "0.02" / "off"
compare.py     baseline x run -> Report (pure)                    findings.py    Finding, Context, order
cellchecks.py  status, NFE, memory, quality, drift per cell       timing.py      time per workload
stats.py       Mann-Whitney U on repeats                          envdiff.py     environment differences
text.py, markdown.py, junit.py: the three outputs. Nothing here imports torch.
"""

from __future__ import annotations

from bench.check.baseline import CellRecord, Snapshot, read_baseline, snapshot_run, to_document, write_baseline
from bench.check.compare import Finding, Report, compare
from bench.check.tolerances import Gate, Tolerance, build_gate, parse_section, parse_tolerance

__all__ = [
    "CellRecord",
    "Finding",
    "Gate",
    "Report",
    "Snapshot",
    "Tolerance",
    "build_gate",
    "compare",
    "parse_section",
    "parse_tolerance",
    "read_baseline",
    "snapshot_run",
    "to_document",
    "write_baseline",
]
