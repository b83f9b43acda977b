"""Each metric's mean per configuration x prompt category: where a sampler wins and where it loses.

Prompt suites label their prompts (PartiPrompts: Category and Challenge; DrawBench: Category; see the
harness's `prompt_suites`), and the harness hands those label columns over as `Axes.groups`. A sampler
that is best on average can be worst on one category (text rendering, counting, fine detail), which is
why PartiPrompts (Yu et al. 2022) and DrawBench (Saharia et al. 2022) label their prompts. Set-scope metrics
(FID, KID) are one value over every prompt, so they have no per-category mean and are left out.
"""

from __future__ import annotations

import math

import pandas as pd

from reports.axes import Axes, AxisInfo
from reports.frame import config_keys, ok_cells
from reports.metrics import MetricSpec
from reports.tables import Cell, Column, Table, metric_cell, number, text

NO_LABEL = "(none)"


def per_category(results: pd.DataFrame, keys: list[str], column: str, metrics: list[str]) -> pd.DataFrame:
    """One row per configuration (`keys`) x value of `column`: n images and each metric's mean over the
    ok cells; configurations keep the run's order, categories their first-seen (file) order."""
    ok = ok_cells(results).assign(_label=lambda f: f[column].fillna(NO_LABEL))
    rows = []
    for key, cells in ok.groupby(keys + ["_label"], sort=False, dropna=False):
        row = dict(zip(keys + [column], key))
        row["n_images"] = len(cells)
        row.update({m: float(cells[m].mean()) if cells[m].notna().any() else math.nan for m in metrics})
        rows.append(row)
    return pd.DataFrame(rows)


def _labelled(results: pd.DataFrame, group: AxisInfo) -> bool:
    return group.column in results.columns and ok_cells(results)[group.column].notna().any()


def category_table(
    results: pd.DataFrame,
    group: AxisInfo,
    metrics: list[MetricSpec],
    colours: dict[str, str],
    axes: Axes,
    random: set[str],
) -> Table:
    """The table of one label column (category or challenge): rows configuration x label."""
    shown = [m for m in metrics if m.scope != "set"]
    keys = config_keys(results, axes)
    frame = per_category(results, keys, group.column, [m.name for m in shown])
    extra = keys[2:]
    columns = [Column("sampler", "sampler", False), Column("steps", "steps", True)]
    columns += [Column(k, axes.label(k), axes.numeric(k)) for k in extra]
    columns += [
        Column(group.column, group.label, False, f"the prompt's {group.label} in its suite"),
        Column("images", "images", True, "ok images of this configuration in this group"),
    ]
    columns += [Column(m.name, m.label, True, f"{m.help}; {m.direction_text}") for m in shown]
    rows = []
    for _, r in frame.iterrows():
        cells: list[Cell] = [text(r["sampler"], colours.get(r["sampler"])), number(r["steps"], "{:.0f}")]
        cells += [number(r[k], "{:g}") if axes.numeric(k) else text(r[k]) for k in extra]
        cells += [text(r[group.column]), number(r["n_images"], "{:.0f}")]
        cells += [metric_cell(m, r[m.name]) for m in shown]
        rows.append(tuple(cells))
    flagged = [m.label for m in shown if m.name in random]
    note = f"{', '.join(flagged)}: computed with random weights, not meaningful." if flagged else ""
    return Table(
        f"by-{group.column}",
        f"Per configuration and prompt {group.label} (mean over its prompts and seeds)",
        tuple(columns),
        tuple(rows),
        note,
    )


def category_tables(
    results: pd.DataFrame, metrics: list[MetricSpec], colours: dict[str, str], axes: Axes, random: set[str]
) -> list[Table]:
    """One table per label column that some ok cell has (none for a plain list of prompts)."""
    if not any(m.scope != "set" for m in metrics):
        return []
    return [category_table(results, g, metrics, colours, axes, random) for g in axes.groups if _labelled(results, g)]
