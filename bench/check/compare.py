"""Baseline x run -> a `Report`: pure functions, no files, no printing (asv `_is_result_better` in spirit).

Cells are matched by id. Per cell: status, NFE (exact), memory, quality in each metric's better direction,
image drift (cellchecks.py); per workload: time beyond tolerance and noise (timing.py). Missing cells fail;
new cells and new metrics are listed, not gated. Environment differences soften time and memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.check.baseline import Snapshot
from bench.check.cellchecks import CHECKS, status_check
from bench.check.envdiff import EnvDiff, environment_diffs
from bench.check.findings import FAILING, KINDS, Context, Finding, cell_order, report_order
from bench.check.timing import machine_factor, time_findings, workloads
from bench.check.tolerances import Gate

__all__ = ["FAILING", "KINDS", "Finding", "Report", "cell_order", "compare"]


@dataclass(frozen=True)
class Report:
    baseline: Snapshot = field(repr=False)
    current: Snapshot = field(repr=False)
    gate: Gate
    findings: tuple[Finding, ...]
    environment: tuple[EnvDiff, ...]
    factor: float | None  # the machine factor when normalising
    compared: int  # cells present on both sides

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def failed(self) -> bool:
        return any(f.kind in FAILING for f in self.findings)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def compare(baseline: Snapshot, current: Snapshot, gate: Gate) -> Report:
    """Every finding between a baseline and a run under one gate."""
    env = tuple(environment_diffs(baseline.environment, current.environment))
    groups = workloads(baseline, current)
    factor = machine_factor(groups) if gate.normalise and gate.time is not None else None
    ctx = Context(
        gate,
        soften=not gate.strict and any(d.softens for d in env),
        factor=factor or 1.0,
        devices=(baseline.environment.get("device"), current.environment.get("device")),
    )
    findings: list[Finding] = []
    for cid, base in baseline.cells.items():
        cur = current.cells.get(cid)
        if cur is None:
            findings.append(
                Finding(
                    "missing",
                    "cell",
                    cid,
                    base.params,
                    baseline=base.status,
                    current="-",
                    detail="in the baseline, not in this run",
                )
            )
            continue
        status = status_check(base, cur, ctx)
        findings += status
        if not status and base.status == "ok":
            for check in CHECKS.values():
                findings += check(base, cur, ctx)
    findings += time_findings(baseline, current, groups, ctx)
    findings += [
        Finding(
            "new", "cell", cid, cur.params, baseline="-", current=cur.status, detail="not in the baseline: not gated"
        )
        for cid, cur in current.cells.items()
        if cid not in baseline.cells
    ]
    findings += _metric_columns(baseline, current)
    return Report(
        baseline,
        current,
        gate,
        tuple(sorted(findings, key=report_order)),
        env,
        factor,
        sum(cid in current.cells for cid in baseline.cells),
    )


def _metric_columns(baseline: Snapshot, current: Snapshot) -> list[Finding]:
    """Metrics measured in the run but absent from the whole baseline: one note each, not gated."""
    old = {m for c in baseline.cells.values() for m, v in c.metrics.items() if v is not None}
    new = {m for c in current.cells.values() for m, v in c.metrics.items() if v is not None}
    return [
        Finding("new", f"quality:{m}", "", detail="metric not in the baseline: not gated until the baseline is updated")
        for m in sorted(new - old)
    ]
