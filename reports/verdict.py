"""One verdict per task slice: the configuration to use on the run's objective, and the reasons.

Among configurations without failures that meet every constraint, those *as good as the best* on the
objective (within 1 % of it, or not distinguishable from it by a paired bootstrap) compete on time; the
fastest wins only beyond timing noise (Mann-Whitney U): whatever ties with it in time is a tie, and a
tie goes to the cheapest configuration (fewest model evaluations, then fewest steps), so a 20-step
configuration is never called fastest when its own 10-step one measured the same within noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.axes import Axes
from reports.frame import TIME_COLUMN, config_keys, config_label, ok_cells, repeats_of
from reports.metrics import METRICS, MetricSpec
from reports.objective import Objective
from reports.recommend import WITHIN
from reports.stats import QUALITY_TEST, TIME_TEST, bootstrap_interval, slower


@dataclass(frozen=True)
class Verdict:
    slice: str
    pick: str | None  # the configuration's label; None when nothing qualifies
    time_s: float
    value: float  # objective value of the pick (nan without objective)
    reasons: tuple[str, ...]
    ties: tuple[str, ...] = ()  # configurations the pick ties with in time and quality
    excluded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Samples:
    """Per configuration label: its timing samples and its per-image values of every metric."""

    times: dict[str, np.ndarray]
    values: dict[str, pd.DataFrame]  # indexed by the replicate axes (prompt, seed)


def collect_samples(results: pd.DataFrame, axes: Axes, metrics: Sequence[str]) -> Samples:
    keys, replicate = config_keys(results, axes), [c for c in axes.of_role("replicate") if c in results]
    times, values = {}, {}
    for key, cells in ok_cells(results).groupby(keys, sort=False, dropna=False):
        label = config_label(dict(zip(keys, key if isinstance(key, tuple) else (key,))), keys, axes)
        pooled = [r for v in cells.get("sample_s_repeats", []) for r in repeats_of(v)]
        times[label] = np.asarray(pooled or cells[TIME_COLUMN].dropna().tolist(), dtype=float)
        present = [m for m in metrics if m in cells]
        values[label] = cells.groupby(replicate, dropna=False)[present].mean() if replicate else cells[present]
    return Samples(times, values)


def _as_good(rows: pd.DataFrame, spec: MetricSpec, samples: Samples) -> tuple[pd.DataFrame, dict[str, str]]:
    """Rows whose objective is as good as the best one's, with why for each."""
    loss = spec.loss(rows[spec.name])
    best = rows.loc[loss.idxmin()]
    slack = spec.slack(float(best[spec.name]), WITHIN) + 1e-15
    why: dict[str, str] = {str(best["label"]): "the best"}
    base = samples.values.get(str(best["label"]))
    for index, row in rows.iterrows():
        label = str(row["label"])
        if label in why:
            continue
        if loss[index] <= loss.min() + slack:
            why[label] = f"within {WITHIN:.0%} of the best"
            continue
        mine = samples.values.get(label)
        if base is None or mine is None or spec.name not in mine:
            continue
        paired = (mine[spec.name] - base[spec.name]).dropna()
        if spec.goal == "one":
            paired = ((mine[spec.name] - 1).abs() - (base[spec.name] - 1).abs()).dropna()
        elif spec.goal == "max":
            paired = -paired
        lo, hi = bootstrap_interval(paired.to_numpy())
        if len(paired) > 1 and lo <= 0 <= hi:
            why[label] = f"not distinguishable from the best ({QUALITY_TEST}: [{lo:.3g}, {hi:.3g}] holds 0)"
    return rows[rows["label"].astype(str).isin(why)], why


def fastest_within_noise(rows: pd.DataFrame, samples: Samples) -> tuple[pd.Series, list[str]]:
    """The fastest row, where ties in time (no significant difference) go to the cheapest; and its ties."""
    times = {str(r): samples.times.get(str(r), np.array([t])) for r, t in zip(rows["label"], rows["time_s"])}
    leader = rows.sort_values("time_s", kind="stable").iloc[0]
    tied = rows[[not slower(times[str(lbl)], times[str(leader["label"])]) for lbl in rows["label"]]]
    pick = tied.sort_values(["nfe", "steps", "time_s"], kind="stable").iloc[0]
    return pick, [str(c) for lbl, c in zip(tied["label"], tied["choice"]) if lbl != pick["label"]]


def _exclude(rows: pd.DataFrame, objective: Objective) -> tuple[pd.DataFrame, list[str]]:
    notes = []
    failed = rows["n_failed"] > 0
    if failed.any():
        notes.append(f"{int(failed.sum())} configuration(s) with failed cells are not recommended")
    rows = rows[~failed & rows["time_s"].notna()]
    spec = METRICS.get(objective.metric or "")
    if spec is not None:
        if spec.exact_only_for_deterministic and rows["stochastic"].any():
            notes.append(
                f"{int(rows['stochastic'].sum())} stochastic configuration(s) are not ranked on "
                f"{spec.label} (a distance to the deterministic solution)"
            )
            rows = rows[~rows["stochastic"]]
        rows = rows[rows[spec.name].notna()]
    for c in objective.constraints:
        if c.metric not in rows:
            notes.append(f"constraint {c.text} not applied: {c.metric} was not measured")
            continue
        meets = rows[c.metric].map(lambda v, c=c: c.holds(float(v)))
        if (~meets).any():
            notes.append(f"{int((~meets).sum())} configuration(s) miss {c.text}")
        rows = rows[meets]
    return rows, notes


def _trade_off(
    qualified: pd.DataFrame, good: pd.DataFrame, pick: pd.Series, spec: MetricSpec, samples: Samples
) -> list[str]:
    """What the pick beats on quality, and what a faster but worse choice would cost."""
    out = []
    rest = qualified[~qualified["label"].isin(good["label"])]
    if len(rest):
        second = rest.loc[spec.loss(rest[spec.name]).idxmin()]
        out.append(
            f"the next best, {second['choice']} ({spec.format(float(second[spec.name]))}), is worse beyond noise"
        )
        quick, _ = fastest_within_noise(qualified, samples)
        if quick["label"] != pick["label"] and float(quick["time_s"]) < float(pick["time_s"]):
            out.append(
                f"the fastest configuration, {quick['choice']} ({float(quick['time_s']):.3g} s/image, "
                f"{spec.format(float(quick[spec.name]))}), is {float(pick['time_s']) / float(quick['time_s']):.1f}x "
                "faster: to trade quality for time, set report: {objective: time, constraints: "
                f"{{{spec.name}: ...}}}}"
            )
    return out


def decide(part: pd.DataFrame, objective: Objective, samples: Samples, slice_label: str = "") -> Verdict:
    """The verdict for one task slice (rows of reports.frame.summarise)."""
    rows, excluded = _exclude(part, objective)
    if rows.empty:
        return Verdict(slice_label, None, math.nan, math.nan, ("no configuration qualifies",), (), tuple(excluded))
    spec = METRICS.get(objective.metric or "")
    reasons: list[str] = []
    why: dict[str, str] = {}
    qualified = rows
    if spec is not None:
        rows, why = _as_good(rows, spec, samples)
    pick, ties = fastest_within_noise(rows, samples)
    label = str(pick["label"])
    value = float(pick[spec.name]) if spec is not None else math.nan
    if spec is not None:
        best = rows.loc[spec.loss(rows[spec.name]).idxmin()]
        reasons.append(
            f"{spec.label} {spec.format(value)} ({spec.direction_text}): {why[label]}"
            + ("" if why[label] == "the best" else f" ({best['choice']}: {spec.format(float(best[spec.name]))})")
        )
        if len(rows) > 1:
            reasons.append(
                f"the fastest of the {len(rows)} configurations that good, beyond timing noise ({TIME_TEST})"
            )
    else:
        reasons.append(f"no quality measure to rank on: the fastest configuration beyond timing noise ({TIME_TEST})")
    if spec is not None:
        reasons += _trade_off(qualified, rows, pick, spec, samples)
    if ties:
        reasons.append(
            f"ties in time with {', '.join(ties)}; chosen as the cheapest (fewest model evaluations, then fewest steps)"
        )
    reasons += [
        f"meets {c.text}: {METRICS[c.metric].format(float(pick[c.metric]))}"
        for c in objective.constraints
        if c.metric in pick
    ]
    return Verdict(
        slice_label, str(pick["choice"]), float(pick["time_s"]), value, tuple(reasons), tuple(ties), tuple(excluded)
    )


def verdicts(summary: pd.DataFrame, objective: Objective, samples: Samples) -> list[Verdict]:
    """One verdict per task slice (model, size, CFG...): never ranked across slices."""
    return [decide(part, objective, samples, str(name)) for name, part in summary.groupby("slice", sort=False)]
