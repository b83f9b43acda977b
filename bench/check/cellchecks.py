"""The per-cell checks: status, NFE (exact), memory, quality (direction-aware) and image drift.

Each is one function in `CHECKS` over a (baseline, run) pair of the same cell id; time is judged per
workload instead (timing.py). Quality directions come from the metric registry (bench.metrics).
"""

from __future__ import annotations

import math
from typing import Callable

from bench.check.baseline import CellRecord
from bench.check.findings import Context, Finding, finding, pct

#: memory kinds that measure the whole process, not one cell: a change there is a warning unless --strict
PROCESS_WIDE_MEMORY = frozenset({"cpu_peak_rss_process"})

CellCheck = Callable[[CellRecord, CellRecord, Context], list[Finding]]


def status_check(base: CellRecord, cur: CellRecord, ctx: Context) -> list[Finding]:
    if base.status == "ok" and cur.status != "ok":
        return [
            finding(
                "regression", "status", cur, baseline="ok", current=cur.status, detail=cur.error or "the cell failed"
            )
        ]
    if base.status != "ok" and cur.status == "ok":
        return [
            finding(
                "improvement",
                "status",
                cur,
                baseline=base.status,
                current="ok",
                detail="failed in the baseline, ok now: not compared further",
            )
        ]
    if base.status != "ok":
        return [
            finding(
                "warning",
                "status",
                cur,
                baseline=base.status,
                current=cur.status,
                detail=f"still failing: {cur.error or ''}".strip(),
            )
        ]
    return []


def _nfe(base: CellRecord, cur: CellRecord, ctx: Context) -> list[Finding]:
    if base.nfe is None or cur.nfe is None or base.nfe == cur.nfe:
        return []
    kind = "regression" if cur.nfe > base.nfe else "improvement"
    return [
        finding(
            kind,
            "nfe",
            cur,
            baseline=str(base.nfe),
            current=str(cur.nfe),
            change=f"{cur.nfe - base.nfe:+d}",
            detail="model evaluations changed: the algorithm or its schedule changed",
        )
    ]


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _memory(base: CellRecord, cur: CellRecord, ctx: Context) -> list[Finding]:
    tol = ctx.gate.memory
    if tol is None or base.peak_mem_bytes is None or cur.peak_mem_bytes is None:
        return []
    text = dict(baseline=_mib(base.peak_mem_bytes), current=_mib(cur.peak_mem_bytes))
    if base.peak_mem_kind != cur.peak_mem_kind:
        return [
            finding(
                "warning",
                "memory",
                cur,
                **text,
                detail=f"measured differently ({base.peak_mem_kind} vs {cur.peak_mem_kind})",
            )
        ]
    old, new = base.peak_mem_bytes, cur.peak_mem_bytes
    text["change"] = pct(new, old)
    process_wide = cur.peak_mem_kind in PROCESS_WIDE_MEMORY and not ctx.gate.strict
    if tol.exceeded(old, new - old):
        why = (
            "process-wide peak RSS, not attributable to one sampler (--strict to fail)"
            if process_wide
            else "the environment differs (--strict to fail)"
            if ctx.soften
            else ""
        )
        kind = "warning" if why else "regression"
        detail = f"more than {tol} higher" + (f": {why}" if why else "")
        return [finding(kind, "memory", cur, **text, detail=detail)]
    if tol.exceeded(old, old - new) and not process_wide:
        return [finding("improvement", "memory", cur, **text, detail=f"more than {tol} lower")]
    return []


def _worse_by(direction: str | None, old: float, new: float) -> float:
    """How much worse `new` is than `old` in the metric's better direction (negative: better)."""
    worse = {"lower": new - old, "higher": old - new, "one": abs(new - 1) - abs(old - 1)}
    return worse.get(direction or "", abs(new - old))


def _quality(base: CellRecord, cur: CellRecord, ctx: Context) -> list[Finding]:
    from bench.metrics import metric_direction

    out = []
    for metric, old in base.metrics.items():
        tol, new = ctx.gate.for_metric(metric), cur.metrics.get(metric)
        if tol is None or old is None:
            continue
        check = f"quality:{metric}"
        if new is None:
            out.append(
                finding(
                    "regression",
                    check,
                    cur,
                    baseline=f"{old:.6g}",
                    current="-",
                    detail="not measured in this run: the gate on it is lost",
                )
            )
            continue
        direction = metric_direction(metric)
        worse = _worse_by(direction, old, new)
        text = dict(baseline=f"{old:.6g}", current=f"{new:.6g}", change=f"{new - old:+.4g}")
        if direction is None and tol.exceeded(old, worse):
            out.append(
                finding(
                    "warning",
                    check,
                    cur,
                    **text,
                    detail=f"changed by more than {tol}; direction unknown (not in bench.metrics)",
                )
            )
        elif tol.exceeded(old, worse):
            out.append(
                finding("regression", check, cur, **text, detail=f"worse by more than {tol} ({direction} is better)")
            )
        elif tol.exceeded(old, -worse):
            out.append(finding("improvement", check, cur, **text, detail=f"better by more than {tol}"))
    return out


def _rms(values: list[float]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values)) if values else 0.0


def _drift(base: CellRecord, cur: CellRecord, ctx: Context) -> list[Finding]:
    tol = ctx.gate.drift
    if tol is None or base.fingerprint is None or cur.fingerprint is None:
        return []
    if len(base.fingerprint) != len(cur.fingerprint):
        return [
            finding(
                "regression",
                "drift",
                cur,
                baseline=f"{len(base.fingerprint)} values",
                current=f"{len(cur.fingerprint)} values",
                detail="fingerprint sizes differ: the latent shape changed",
            )
        ]
    distance = _rms([a - b for a, b in zip(cur.fingerprint, base.fingerprint)])
    if not tol.exceeded(_rms(list(base.fingerprint)), distance):
        return []
    seeded = "stochastic sampler, seeded: must still match" if cur.params.get("stochastic") else "deterministic"
    old_dev, new_dev = ctx.devices
    devices = f"; devices differ ({old_dev} vs {new_dev}): loosen --drift-tolerance" if old_dev != new_dev else ""
    return [
        finding(
            "regression",
            "drift",
            cur,
            baseline="same image",
            current=f"RMS {distance:.3g}",
            change=f"> {tol}",
            detail=f"the image changed ({seeded}){devices}",
        )
    ]


#: every per-cell check after the status one, in report order
CHECKS: dict[str, CellCheck] = {"nfe": _nfe, "memory": _memory, "quality": _quality, "drift": _drift}
