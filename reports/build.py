"""The report's single entry point: results frame + metadata + run directory in, report.html out.

Everything is derived from the stored results alone (no model, no GPU), so a report can be rebuilt at
any time with `bench report RUN_DIR`.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from reports import ReportError
from reports.axes import Axes
from reports.categories import category_tables
from reports.charts import render_charts
from reports.embed import EmbedMode, human_bytes
from reports.explorer import Progress, build_explorer
from reports.frame import config_keys, summarise
from reports.html import render_html
from reports.metrics import main_metric, present_metrics
from reports.objective import resolve
from reports.palette import sampler_colours
from reports.recommend import MetricAdvice, advise
from reports.tables import cell_table, config_table
from reports.verdict import collect_samples, verdicts

REQUIRED = (
    "cell_id",
    "status",
    "error",
    "model",
    "prompt",
    "seed",
    "sampler",
    "sampler_id",
    "stochastic",
    "steps",
    "width",
    "height",
    "nfe",
    "sample_s",
    "total_s",
    "peak_mem_bytes",
    "image",
)


def _check(results: pd.DataFrame) -> None:
    missing = [c for c in REQUIRED if c not in results.columns]
    if missing:
        raise ReportError(
            f"results frame lacks column(s) {', '.join(missing)}; the report needs: {', '.join(REQUIRED)}"
        )
    if results.empty:
        raise ReportError("results frame is empty: the run has no cells to report")


def _memory_kind(results: pd.DataFrame) -> str:
    kinds = results["peak_mem_kind"].dropna().unique() if "peak_mem_kind" in results else []
    return " and ".join(map(str, kinds)) or "unknown"


def _remove_stale(run_dir: Path, keep: set[str]) -> None:
    """Drop chart files an earlier build wrote but this one did not, and the paged grids older versions
    of the report drew (the explorer replaced them; `bench grid` writes grids where it is told)."""
    for path in (run_dir / "charts").glob("*"):
        if path.suffix in (".png", ".svg") and path.relative_to(run_dir).as_posix() not in keep:
            path.unlink()
    for path in (run_dir / "grids").glob("*-p[0-9]*.png"):
        if path.stem.split("-")[0] in ("samplers", "prompts"):
            path.unlink()


def _advise_per_slice(summary: pd.DataFrame, ranked: list) -> list[MetricAdvice]:
    """Every metric's own view per task slice (model, size, CFG...): context after the verdict."""
    out = []
    for slice_label, part in summary.groupby("slice", sort=False):
        part = part.assign(label=part["choice"])
        out += [replace(advise(part, m), slice=str(slice_label)) for m in ranked]
    return out


def _say(progress: Progress | None, started: float, message: str) -> None:
    if progress is not None:
        progress(f"{message} ({time.perf_counter() - started:.1f} s)")


def build_report(
    results: pd.DataFrame,
    meta: dict,
    run_dir: Path,
    *,
    record: dict,
    mode: EmbedMode | None = None,
    progress: Progress | None = None,
    fingerprint: str = "",
) -> Path:
    """Write run_dir/report.html and run_dir/charts/; return the report's path.

    `record` is the harness's cell record as plain data (bench.record.for_reports): the run's axes.
    `mode` embeds every chart and thumbnail (the default) or links them; `progress` hears each stage;
    `fingerprint` (the store's, from the harness) is written into the page so a rebuild can be skipped.
    """
    started = time.perf_counter()
    mode = mode or EmbedMode()
    axes = Axes.of(record)
    _check(results)
    run_dir = Path(run_dir)
    results = results.reset_index(drop=True)
    random_weights = bool(results["random_weights"].any()) if "random_weights" in results else False
    colours = sampler_colours(results["sampler"])
    metrics = present_metrics(results)
    summary = summarise(results, axes)
    random_metrics = set(meta.get("metric_random_weights", []) or [])  # the metric's own model is random
    objective = resolve(meta.get("report"), [m.name for m in metrics if m.name not in random_metrics], random_weights)
    samples = collect_samples(results, axes, [m.name for m in metrics])
    decided = verdicts(summary, objective, samples)
    ranked = [m for m in metrics if not (m.needs_real_weights and random_weights) and m.name not in random_metrics]
    skipped = [
        f"{m.label} is not used for the recommendation: "
        f"{'its own model' if m.name in random_metrics else 'the model'} has random weights."
        for m in metrics
        if m not in ranked
    ]
    advice = _advise_per_slice(summary, [m for m in ranked if m.name != objective.metric])
    _say(progress, started, f"summarised {len(results)} cells into {len(summary)} configurations")

    charts = render_charts(summary, colours, metrics, run_dir, _memory_kind(results), random_weights)
    _say(progress, started, f"drew {len(charts)} charts")
    explorer = build_explorer(results, run_dir, axes, metrics, main_metric(results), mode, progress)
    _say(progress, started, f"explorer: {len(explorer['cells'])} cells")
    extra = config_keys(results, axes)[2:]
    tables = [config_table(summary, metrics, colours, extra, axes), cell_table(results, metrics, colours, axes)]
    unmeaning = random_metrics | ({m.name for m in metrics if m.needs_real_weights} if random_weights else set())
    tables[1:1] = category_tables(results, metrics, colours, axes, unmeaning)  # after the per-configuration table

    _remove_stale(run_dir, {c.png for c in charts} | {c.svg for c in charts})
    html = render_html(
        results=results,
        meta=meta,
        verdicts=decided,
        objective=objective,
        advice=advice,
        skipped=skipped,
        charts=charts,
        tables=tables,
        explorer=explorer,
        metrics=metrics,
        colours=colours,
        axes=axes,
        run_dir=run_dir,
        fingerprint=fingerprint,
    )
    out = run_dir / "report.html"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")  # unique per process
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (full disk) leaves no temp file
    _say(progress, started, f"wrote {out} ({human_bytes(out.stat().st_size)})")
    return out
