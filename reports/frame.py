"""Reading the results frame: which columns are axes, and one summary row per configuration.

A configuration is what a user chooses (sampler, steps, and any other axis the run varied); prompts and
seeds are what it is averaged over. Time is the sampling time per image (median of repeats): text
encoding and VAE decoding do not depend on the sampler, so they would only dilute the comparison.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from reports.axes import Axes
from reports.metrics import METRICS

#: a run setting that changes the timings without being an axis: joins a configuration when it varies
RUN_SETTINGS: tuple[str, ...] = ("batch_size",)
TIME_COLUMN = "sample_s"
TIME_LABEL = "sampling s/image"


def is_missing(value: object) -> bool:
    """None or NaN: how an absent value arrives from a DataFrame or SQLite."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def text_or(value: object, default: str) -> str:
    """The value as text, or `default` when it is missing or empty."""
    return default if is_missing(value) or str(value) == "" else str(value)


def repeats_of(value: object) -> list[float]:
    """The timing repeats of one cell as floats, whatever container the store handed over."""
    if is_missing(value):
        return []
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return [float(v) for v in np.asarray(value, dtype=float).ravel() if not math.isnan(float(v))]


def ok_cells(results: pd.DataFrame) -> pd.DataFrame:
    """Cells that produced an image and timings."""
    return results[results["status"] == "ok"]


def ordered_values(results: pd.DataFrame, column: str) -> list:
    """Distinct values of an axis: numbers ascending, anything else in first-seen (config) order."""
    values = list(dict.fromkeys(results[column].tolist()))
    if pd.api.types.is_numeric_dtype(results[column]) and not pd.api.types.is_bool_dtype(results[column]):
        return sorted(values)
    return values


def varying(results: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    """Those of `columns` that take more than one value in this run."""
    return [c for c in columns if c in results.columns and results[c].nunique(dropna=False) > 1]


def slice_keys(results: pd.DataFrame, axes: Axes) -> list[str]:
    """Task axes the run varied (model, size, CFG...): results are compared only within one slice."""
    return varying(results, axes.of_role("task"))


def config_keys(results: pd.DataFrame, axes: Axes) -> list[str]:
    """Columns that identify a configuration: sampler, steps, any other axis the run varied (but those
    averaged over: prompt, seed) and a run setting that changed between resumed runs."""
    chosen = ["sampler", "steps"]
    others = [c for c in axes.of_role("choice", "task") if c not in chosen]
    return chosen + varying(results, others) + varying(results, RUN_SETTINGS)


def format_axis_value(column: str, value: object, axes: Axes) -> str:
    """How an axis value reads in a label (e.g. 'cfg 7', '20 steps')."""
    if column == "steps":
        return f"{int(value)} steps"  # type: ignore[call-overload]
    if column in ("sampler", "prompt", "model"):
        return str(value)
    if column == "negative_prompt":
        return f"negative: {value or '(none)'}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{axes.label(column)} {value}"


def config_label(row: pd.Series | dict, keys: Sequence[str], axes: Axes) -> str:
    """'Euler a · 20 steps · cfg 7': the name under which a configuration is shown everywhere."""
    return " · ".join(format_axis_value(k, row[k], axes) for k in keys)


def _pooled_repeats(cells: pd.DataFrame) -> list[float]:
    pooled = (
        [r for v in cells["sample_s_repeats"] for r in repeats_of(v)] if "sample_s_repeats" in cells.columns else []
    )
    return pooled or [float(t) for t in cells[TIME_COLUMN].dropna()]


def summarise(results: pd.DataFrame, axes: Axes) -> pd.DataFrame:
    """One row per configuration: median time, repeat spread, NFE, peak memory, mean of each metric.

    Failed cells count in `n_failed` only; a configuration whose cells all failed keeps a row with
    NaN figures so that the failure stays visible.
    """
    keys = config_keys(results, axes)
    slices = slice_keys(results, axes)
    metric_names = [m for m in METRICS if m in results.columns]
    rows = []
    for key, cells in results.groupby(keys, sort=False, dropna=False):
        ok = ok_cells(cells)
        pooled = _pooled_repeats(ok) if len(ok) else []
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update(
            label=config_label(row, keys, axes),
            series=config_label(row, [k for k in keys if k != "steps"], axes),
            choice=config_label(row, [k for k in keys if k not in slices], axes),
            slice=config_label(row, slices, axes),
            sampler_id=cells["sampler_id"].iloc[0],
            stochastic=bool(cells["stochastic"].any()),
            n_cells=len(cells),
            n_failed=int((cells["status"] != "ok").sum()),
            time_s=float(ok[TIME_COLUMN].median()) if len(ok) else math.nan,
            time_min=min(pooled) if pooled else math.nan,
            time_max=max(pooled) if pooled else math.nan,
            total_s=float(ok["total_s"].median()) if len(ok) else math.nan,
            nfe=float(ok["nfe"].median()) if len(ok) else math.nan,
            peak_mem_bytes=float(ok["peak_mem_bytes"].max()) if len(ok) else math.nan,
        )
        row.update({m: float(ok[m].mean()) if len(ok) else math.nan for m in metric_names})
        rows.append(row)
    summary = pd.DataFrame(rows)
    sampler_rank = {s: i for i, s in enumerate(ordered_values(results, "sampler"))}
    return (
        summary.assign(_rank=summary["sampler"].map(sampler_rank))
        .sort_values(["_rank", "steps"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )
