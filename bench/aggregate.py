"""Aggregates of a run's metrics: means with bootstrap intervals, and fitted orders of convergence.

Pure pandas/numpy over `bench.load_results(run_dir)`, for the reports and `bench check`:
- `metric_summary`: per (sampler, steps) (and every other axis that varies in the run, so a mean never
  mixes two CFG scales or models) the mean of each metric over prompts x seeds, with a seeded
  percentile-bootstrap interval (Efron & Tibshirani 1993, ch. 13). Group metrics (coverage: one value
  per group of seeds) count once per group. Fewer than two values: no interval (NaN), never a fake one.
- `convergence_orders`: the slope p of log(error) = c - p log(steps), fitted by least squares on the
  geometric means per step count: about 1 for Euler, 2 for Heun or DPM++ 2M when the ODE is smooth.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from bench import record


def other_axes() -> list[str]:
    """Display columns of the axes a cell can vary on besides sampler, steps, prompt and seed."""
    return [c for c in record.columns_of("task") + record.columns_of("choice") if c not in ("sampler", "steps")]


def group_axes() -> list[str]:
    """The columns that identify a group of seeds (every axis but the seed)."""
    return [a.column.name for a in record.AXES.values() if a.batch]


def bootstrap_interval(
    values: Sequence[float] | np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; (nan, nan) for fewer than two values."""
    data = np.asarray(values, dtype=np.float64)
    if data.size < 2:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(n_boot, data.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def grouping(frame: pd.DataFrame, by: Iterable[str] | None = None) -> list[str]:
    """`by`, or sampler and steps plus every other axis that takes more than one value in `frame`."""
    if by is not None:
        return list(by)
    extra = [a for a in other_axes() if a in frame.columns and frame[a].nunique(dropna=False) > 1]
    return [*extra, "sampler", "steps"]


def _present_metrics(frame: pd.DataFrame, metrics: Iterable[str] | None) -> list[str]:
    from bench.metrics import METRICS

    names = list(metrics) if metrics is not None else list(METRICS)
    return [m for m in names if m in frame.columns and frame[m].notna().any()]


def _values(rows: pd.DataFrame, metric: str) -> np.ndarray:
    from bench.metrics import METRICS

    info = METRICS.get(metric)
    if info is not None and info.scope != "cell":  # one value per group (set: over every prompt too)
        keys = [c for c in group_axes() if c in rows.columns and (info.scope == "group" or c != "prompt")]
        rows = rows.drop_duplicates(subset=keys)
    return rows[metric].dropna().to_numpy(dtype=np.float64)


def metric_summary(
    frame: pd.DataFrame,
    metrics: Iterable[str] | None = None,
    by: Iterable[str] | None = None,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (group, metric): n, mean, lo, hi (bootstrap `level` interval of the mean).

    Only cells with status ok count. The same `seed` is used for every group: results do not depend
    on the order of the rows.
    """
    keys = grouping(frame, by)
    columns = [*keys, "metric", "n", "mean", "lo", "hi"]
    ok = frame[frame["status"] == "ok"] if "status" in frame.columns else frame
    names = _present_metrics(ok, metrics)
    if ok.empty or not names:
        return pd.DataFrame(columns=columns)
    rows = []
    for group, part in ok.groupby(keys, sort=True, dropna=False):
        group = group if isinstance(group, tuple) else (group,)
        for metric in names:
            values = _values(part, metric)
            if values.size == 0:
                continue
            low, high = bootstrap_interval(values, n_boot, level, seed)
            rows.append((*group, metric, int(values.size), float(values.mean()), low, high))
    return pd.DataFrame(rows, columns=columns)


def fit_order(steps: Sequence[float], errors: Sequence[float]) -> float:
    """p in error ≈ C steps^-p, least squares in log-log; nan with fewer than two usable points."""
    x, y = np.asarray(steps, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if np.unique(x[keep]).size < 2:
        return float("nan")
    slope = np.polyfit(np.log(x[keep]), np.log(y[keep]), 1)[0]
    return float(-slope)


def convergence_orders(
    frame: pd.DataFrame, metric: str = "ode_error", by: Iterable[str] | None = None, steps: Iterable[int] | None = None
) -> pd.DataFrame:
    """Fitted order per sampler (and varying axis) over the given step counts (default: all)."""
    keys = [k for k in grouping(frame, by) if k != "steps"]
    columns = [*keys, "order", "points", "first", "last"]
    ok = frame[(frame["status"] == "ok") & frame[metric].notna()] if metric in frame.columns else frame[:0]
    if steps is not None:
        ok = ok[ok["steps"].isin(list(steps))]
    rows = []
    for group, part in ok.groupby(keys, sort=True, dropna=False):
        group = group if isinstance(group, tuple) else (group,)
        logs = np.log(part[metric].clip(lower=1e-300)).groupby(part["steps"]).mean()
        geo = np.exp(logs)
        rows.append(
            (*group, fit_order(geo.index, geo.to_numpy()), int(len(geo)), float(geo.iloc[0]), float(geo.iloc[-1]))
        )
    return pd.DataFrame(rows, columns=columns)
