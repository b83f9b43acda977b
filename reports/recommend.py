"""Which sampler to use: Pareto fronts of quality against time and the recommendations read from them.

Pure pandas over the per-configuration summary (reports.frame.summarise). Configurations with a failed
cell are never recommended, and a distance to the ODE solution is not a quality figure for a stochastic
sampler (it never converges to that solution), so those rows are left out of that metric's ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from reports.metrics import MetricSpec

WITHIN = 0.01  # "within 1 % of the best quality"


@dataclass(frozen=True)
class Pick:
    """One recommended configuration and why."""

    metric: str
    reason: str
    label: str
    sampler: str
    steps: int
    time_s: float
    value: float


@dataclass(frozen=True)
class MetricAdvice:
    """Everything the report says about one metric."""

    spec: MetricSpec
    best: Pick | None
    fastest_near_best: Pick | None
    by_budget: tuple[Pick, ...]
    front_labels: tuple[str, ...]
    excluded: tuple[str, ...] = field(default_factory=tuple)  # why some rows were left out
    slice: str = ""  # the task slice (model, size, CFG...) it is about; "" when the run has one


def eligible(summary: pd.DataFrame, spec: MetricSpec) -> tuple[pd.DataFrame, list[str]]:
    """Rows that may be ranked on `spec`, and one sentence per kind of row left out."""
    notes = []
    rows = summary[summary[spec.name].notna() & summary["time_s"].notna()]
    failed = rows["n_failed"] > 0
    if failed.any():
        notes.append(f"{int(failed.sum())} configuration(s) with failed cells are not ranked")
    rows = rows[~failed]
    if spec.exact_only_for_deterministic and rows["stochastic"].any():
        notes.append("stochastic samplers are not ranked on this distance to the deterministic solution")
        rows = rows[~rows["stochastic"]]
    return rows, notes


def pareto_front(rows: pd.DataFrame, spec: MetricSpec, time_col: str = "time_s") -> pd.DataFrame:
    """Rows that no other row beats on both time and quality, fastest first."""
    if rows.empty:
        return rows
    ordered = rows.assign(_loss=spec.loss(rows[spec.name])).sort_values([time_col, "_loss"], kind="stable")
    keep, best = [], math.inf
    for index, loss in ordered["_loss"].items():
        if loss < best:
            keep.append(index)
            best = loss
    return ordered.loc[keep].drop(columns="_loss")


def _pick(row: pd.Series, spec: MetricSpec, reason: str) -> Pick:
    return Pick(
        spec.name,
        reason,
        str(row["label"]),
        str(row["sampler"]),
        int(row["steps"]),
        float(row["time_s"]),
        float(row[spec.name]),
    )


def fastest_near_best(rows: pd.DataFrame, spec: MetricSpec, rel: float = WITHIN) -> Pick | None:
    """The fastest configuration whose quality is within `rel` of the best one's."""
    if rows.empty:
        return None
    loss = spec.loss(rows[spec.name])
    best_raw = float(rows.loc[loss.idxmin(), spec.name])
    near = rows[loss <= loss.min() + spec.slack(best_raw, rel) + 1e-15]
    row = near.sort_values(["time_s"], kind="stable").iloc[0]
    return _pick(row, spec, f"the fastest configuration within {rel:.0%} of the best")


def budget_ladder(low: float, high: float) -> list[float]:
    """Round time budgets (1-2-5 per decade) from the fastest to the slowest configuration."""
    if not (low > 0 and high > 0) or math.isinf(high):
        return []
    budgets: list[float] = []
    decade = 10.0 ** math.floor(math.log10(low))
    while not budgets or budgets[-1] < high:
        for m in (1, 2, 5):
            b = m * decade
            if b >= low and (not budgets or budgets[-1] < high):
                budgets.append(b)
        decade *= 10
    return budgets


def best_by_budget(rows: pd.DataFrame, spec: MetricSpec) -> list[Pick]:
    """For each round time budget, the best-quality configuration that fits; repeats are dropped."""
    front = pareto_front(rows, spec)
    picks: list[Pick] = []
    for budget in budget_ladder(float(rows["time_s"].min()), float(rows["time_s"].max())) if len(rows) else []:
        fits = front[front["time_s"] <= budget]
        if fits.empty:
            continue
        pick = _pick(fits.iloc[-1], spec, f"≤ {budget:g} s/image")
        if not picks or picks[-1].label != pick.label:
            picks.append(pick)
    return picks


def advise(summary: pd.DataFrame, spec: MetricSpec) -> MetricAdvice:
    """All recommendations for one metric."""
    rows, notes = eligible(summary, spec)
    best = None
    if not rows.empty:  # ties on quality go to the faster configuration
        ranked = rows.assign(_loss=spec.loss(rows[spec.name])).sort_values(["_loss", "time_s"], kind="stable")
        best = _pick(ranked.iloc[0], spec, "the best quality")
    front = pareto_front(rows, spec)
    return MetricAdvice(
        spec,
        best,
        fastest_near_best(rows, spec),
        tuple(best_by_budget(rows, spec)),
        tuple(front["label"]) if len(front) else (),
        tuple(notes),
    )


def fastest(summary: pd.DataFrame) -> pd.Series | None:
    """The fastest configuration without failures, the only advice when no quality was measured."""
    rows = summary[(summary["n_failed"] == 0) & summary["time_s"].notna()]
    return None if rows.empty else rows.sort_values("time_s", kind="stable").iloc[0]
