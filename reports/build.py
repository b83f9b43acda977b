"""The report's single entry point: results frame + metadata + run directory in, report.html out.

Everything is derived from the stored results alone (no model, no GPU), so a report can be rebuilt at
any time with `bench report RUN_DIR`.
"""
from __future__ import annotations

from dataclasses import replace
import os
import secrets
from pathlib import Path

import pandas as pd

from reports import ReportError
from reports.charts import render_charts
from reports.axes import Axes
from reports.frame import config_keys, summarise
from reports.grids import Layout, default_specs, render_grids
from reports.html import render_html
from reports.metrics import present_metrics
from reports.palette import sampler_colours
from reports.recommend import MetricAdvice, advise, fastest
from reports.tables import cell_table, config_table

REQUIRED = ("cell_id", "status", "error", "model", "prompt", "seed", "sampler", "sampler_id", "stochastic",
            "steps", "width", "height", "nfe", "sample_s", "total_s", "peak_mem_bytes", "image")


def _check(results: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in results.columns]
    if missing:
        raise ReportError(f"results frame lacks column(s) {', '.join(missing)}; "
                         f"the report needs: {', '.join(REQUIRED)}")
    if results.empty:
        raise ReportError("results frame is empty: the run has no cells to report")


def _memory_kind(results: pd.DataFrame) -> str:
    kinds = results["peak_mem_kind"].dropna().unique() if "peak_mem_kind" in results else []
    return " and ".join(map(str, kinds)) or "unknown"


def _remove_stale(run_dir: Path, keep: set[str]) -> None:
    """Drop grid and chart files an earlier build wrote but this one did not, so the folders match the page."""
    for folder in ("grids", "charts"):
        for path in (run_dir / folder).glob("*"):
            if path.suffix in (".png", ".svg") and path.relative_to(run_dir).as_posix() not in keep:
                path.unlink()


def _advise_per_slice(summary: pd.DataFrame, ranked: list) -> list[MetricAdvice]:
    """One recommendation per metric and task slice (model, size, CFG...): never ranked across them."""
    out = []
    for slice_label, part in summary.groupby("slice", sort=False):
        part = part.assign(label=part["choice"])
        out += [replace(advise(part, m), slice=str(slice_label)) for m in ranked]
    return out


def build_report(results: pd.DataFrame, meta: dict, run_dir: Path, *, record: dict, grid_steps: int | None = None,
                 layout: Layout = Layout()) -> Path:
    """Write run_dir/report.html, run_dir/grids/ and run_dir/charts/; return the report's path.

    `record` is the harness's cell record as plain data (bench.record.for_reports): the run's axes.
    `grid_steps` picks the step count of the across-seeds and prompts x samplers grids (default: the
    largest in the run).
    """
    axes = Axes.of(record)
    _check(results)
    run_dir = Path(run_dir)
    results = results.reset_index(drop=True)
    random_weights = bool(results["random_weights"].any()) if "random_weights" in results else False
    colours = sampler_colours(results["sampler"])
    metrics = present_metrics(results)
    summary = summarise(results, axes)

    random_metrics = set(meta.get("metric_random_weights", []) or [])  # the metric's own model is random
    ranked = [m for m in metrics if not (m.needs_real_weights and random_weights) and m.name not in random_metrics]
    skipped = [f"{m.label} is not used for the recommendation: "
               f"{'its own model' if m.name in random_metrics else 'the model'} has random weights."
               for m in metrics if m not in ranked]
    advice = _advise_per_slice(summary, ranked)
    fallback = None
    if not any(a.best for a in advice):
        row = fastest(summary)
        fallback = None if row is None else {"label": str(row["label"]), "time_s": float(row["time_s"])}

    charts = render_charts(summary, colours, metrics, run_dir, _memory_kind(results), random_weights)
    pages = [page for spec in default_specs(results, grid_steps)
             for page in render_grids(results, run_dir, spec, axes, layout)]
    extra = config_keys(results, axes)[2:]
    tables = [config_table(summary, metrics, colours, extra, axes), cell_table(results, metrics, colours, axes)]

    _remove_stale(run_dir, {c.png for c in charts} | {c.svg for c in charts} | {p.path for p in pages})
    html = render_html(results=results, meta=meta, advice=advice, skipped=skipped, fallback=fallback,
                       charts=charts, tables=tables, pages=pages, metrics=metrics, colours=colours, axes=axes)
    out = run_dir / "report.html"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")  # unique per process
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (full disk) leaves no temp file
    return out
