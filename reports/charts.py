"""Charts of the per-configuration summary: time per sampler, time and NFE against steps, quality
against time with its Pareto front, peak memory. PNG for the page, SVG (text kept as text) for papers.

matplotlib is used through `Figure` objects only, never pyplot, so no global backend or figure state is
touched; every sampler keeps the colour reports.palette gave it.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reports.frame import TIME_LABEL
from reports.metrics import MetricSpec
from reports.recommend import eligible, pareto_front

MEMORY_KINDS = {
    "cuda_max_allocated": "CUDA max allocated",
    "cpu_peak_rss_process": "CPU peak RSS of the whole process (grows over the run; not per sampler)",
}


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    png: str  # relative to the run directory
    svg: str
    caption: str
    series: tuple[str, ...]  # the labelled series drawn (legend entries or bar labels)


def _save(fig: Figure, out_dir: Path, run_dir: Path, name: str) -> tuple[str, str]:
    import matplotlib

    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    fig.savefig(png, dpi=110)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "samplerbench"}):
        fig.savefig(svg, metadata={"Date": None})
    return png.relative_to(run_dir).as_posix(), svg.relative_to(run_dir).as_posix()


def _legend(ax) -> None:
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)


MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _series(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame, str]]:
    """(name, rows by steps, marker): series of one sampler (e.g. at two CFG scales) differ by marker."""
    out, seen = [], {}
    for name, rows in summary.groupby("series", sort=False):
        k = seen[rows["sampler"].iloc[0]] = seen.get(rows["sampler"].iloc[0], -1) + 1
        out.append((str(name), rows.sort_values("steps"), MARKERS[k % len(MARKERS)]))
    return out


def time_bars(summary: pd.DataFrame, colours: dict[str, str]) -> tuple[Figure, tuple[str, ...]]:
    """Sampling time per image for each series, one panel per step count, fastest on top."""
    rows = summary[summary["time_s"].notna()]
    steps = sorted(rows["steps"].unique())
    ncols = min(3, max(1, len(steps)))
    nrows = max(1, math.ceil(len(steps) / ncols))
    height = 0.9 + 0.32 * rows["series"].nunique()
    fig = Figure(figsize=(4.2 * ncols, height * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, n in zip(axes, steps):
        at = rows[rows["steps"] == n].sort_values("time_s", ascending=False)
        err = [(at["time_s"] - at["time_min"]).clip(lower=0), (at["time_max"] - at["time_s"]).clip(lower=0)]
        ax.barh(at["series"], at["time_s"], xerr=err, capsize=3,
                color=[colours[s] for s in at["sampler"]], error_kw={"elinewidth": 1})
        ax.set_title(f"{int(n)} steps", fontsize=10)
        ax.set_xlabel(TIME_LABEL)
        ax.tick_params(axis="y", labelsize=8)
    for ax in axes[len(steps):]:
        ax.set_visible(False)
    fig.suptitle("Sampler time comparison (whiskers: fastest and slowest repeat)", fontsize=11)
    return fig, tuple(dict.fromkeys(rows["series"]))


def _lines(summary: pd.DataFrame, colours: dict[str, str], column: str, ylabel: str,
           title: str) -> tuple[Figure, tuple[str, ...]]:
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.subplots()
    drawn = []
    series = _series(summary)
    for i, (name, rows, marker) in enumerate(series):
        rows = rows[rows[column].notna()]
        if rows.empty:
            continue
        colour = colours[rows["sampler"].iloc[0]]
        # equal values (e.g. the same NFE) would hide earlier series: draw those thicker, underneath
        wide = 1 - i / max(1, len(series) - 1)
        style = {"color": colour, "marker": marker, "label": name, "linewidth": 1.2 + 3 * wide,
                 "markersize": 4 + 6 * wide}
        if column == "time_s":
            err = np.vstack([(rows["time_s"] - rows["time_min"]).clip(lower=0).to_numpy(),
                             (rows["time_max"] - rows["time_s"]).clip(lower=0).to_numpy()])
            ax.errorbar(rows["steps"].to_numpy(), rows[column].to_numpy(), yerr=err, capsize=3, **style)
        else:
            ax.plot(rows["steps"].to_numpy(), rows[column].to_numpy(), **style)
        drawn.append(name)
    ax.set_xlabel("steps")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=11)
    ax.grid(alpha=0.3)
    if drawn:
        _legend(ax)
    return fig, tuple(drawn)


def time_vs_steps(summary: pd.DataFrame, colours: dict[str, str]) -> tuple[Figure, tuple[str, ...]]:
    return _lines(summary, colours, "time_s", TIME_LABEL, "Time vs steps")


def nfe_vs_steps(summary: pd.DataFrame, colours: dict[str, str]) -> tuple[Figure, tuple[str, ...]]:
    return _lines(summary, colours, "nfe", "model evaluations (NFE) per image", "NFE vs steps")


def quality_vs_time(summary: pd.DataFrame, colours: dict[str, str], spec: MetricSpec,
                    random_weights: bool = False) -> tuple[Figure, tuple[str, ...]]:
    """One point per (series, steps); hollow points are not ranked; the Pareto front is drawn and named."""
    fig = Figure(figsize=(8.5, 5), layout="constrained")
    ax = fig.subplots()
    ranked, _ = eligible(summary, spec)
    drawn = []
    for name, rows, marker in _series(summary):
        rows = rows[rows[spec.name].notna() & rows["time_s"].notna()]
        if rows.empty:
            continue
        colour = colours[rows["sampler"].iloc[0]]
        ax.plot(rows["time_s"], rows[spec.name], color=colour, alpha=0.35, linewidth=1)
        hollow = ~rows.index.isin(ranked.index)
        if (~hollow).any():
            ax.scatter(rows["time_s"][~hollow], rows[spec.name][~hollow], color=colour, marker=marker,
                       label=name, zorder=3)
        if hollow.any():
            ax.scatter(rows["time_s"][hollow], rows[spec.name][hollow], facecolors="none", marker=marker,
                       edgecolors=colour, zorder=3, label=f"{name} (not ranked)")
        drawn.append(name)
    front = pareto_front(ranked, spec)
    if len(front):
        # min/max goals: the best quality reachable within a time is a staircase; "closer to 1" is not
        where = {"where": "post"} if spec.goal != "one" else {}
        draw_front = ax.step if where else ax.plot
        draw_front(front["time_s"], front[spec.name], color="black", linestyle="--", linewidth=1,
                   label="Pareto front", zorder=2, **where)
        for k, (_, row) in enumerate(front.iterrows()):
            ax.annotate(str(row["label"]), (row["time_s"], row[spec.name]), xytext=(5, 6 if k % 2 else -11),
                        textcoords="offset points", fontsize=7)
    if spec.log:
        ax.set_yscale("log")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(f"{spec.label} ({spec.direction_text})")
    note = " (random weights: not meaningful)" if spec.needs_real_weights and random_weights else ""
    ax.set_title(f"Quality vs time: {spec.label}{note}", fontsize=11)
    ax.grid(alpha=0.3, which="both")
    if drawn:
        _legend(ax)
    return fig, tuple(drawn)


def peak_memory(summary: pd.DataFrame, colours: dict[str, str]) -> tuple[Figure, tuple[str, ...]]:
    """The largest peak memory of any cell of each series, in MiB."""
    rows = summary[summary["peak_mem_bytes"].notna()]
    per = rows.groupby("series", sort=False).agg(mem=("peak_mem_bytes", "max"), sampler=("sampler", "first"))
    per = per.sort_values("mem")
    fig = Figure(figsize=(8, 1.2 + 0.35 * len(per)), layout="constrained")
    ax = fig.subplots()
    ax.barh(per.index, per["mem"] / 2**20, color=[colours[s] for s in per["sampler"]])
    ax.set_xlabel("peak memory (MiB)")
    ax.set_title("Peak memory per sampler", fontsize=11)
    ax.tick_params(axis="y", labelsize=8)
    return fig, tuple(per.index)


def render_charts(summary: pd.DataFrame, colours: dict[str, str], metrics: list[MetricSpec],
                  run_dir: Path, memory_kind: str, random_weights: bool = False) -> list[Chart]:
    """Draw every chart into run_dir/charts as PNG and SVG."""
    run_dir = Path(run_dir)
    out_dir = run_dir / "charts"
    out_dir.mkdir(parents=True, exist_ok=True)
    timing = "Sampling time per image, median over prompts and seeds of each cell's median repeat."
    plans: list[tuple[str, str, str, Callable[[], tuple[Figure, tuple[str, ...]]]]] = [
        ("time_bars", "Sampler time comparison", timing, lambda: time_bars(summary, colours)),
        ("time_vs_steps", "Time vs steps", timing, lambda: time_vs_steps(summary, colours)),
        ("nfe_vs_steps", "NFE vs steps", "Denoiser evaluations per image (a CFG pair counts once).",
         lambda: nfe_vs_steps(summary, colours)),
    ]
    for spec in metrics:
        caption = (f"{spec.label}: {spec.help}; {spec.direction_text}; mean over prompts and seeds. "
                   "Dashed: the Pareto front (nothing is both faster and better); hollow points are not ranked.")
        plans.append((f"quality_{spec.name}", f"Quality vs time: {spec.label}", caption,
                      lambda spec=spec: quality_vs_time(summary, colours, spec, random_weights)))
    if "cuda" in memory_kind:  # otherwise memory is not per cell: the page says so in one sentence
        plans.append(("peak_memory", "Peak memory", "Measured as: " + MEMORY_KINDS.get(memory_kind, memory_kind),
                      lambda: peak_memory(summary, colours)))
    charts = []
    for name, title, caption, plot in plans:
        fig, series = plot()
        if not series:  # nothing measured (e.g. every cell failed): no empty axes in the report
            continue
        png, svg = _save(fig, out_dir, run_dir, name)
        charts.append(Chart(name, title, png, svg, caption, series))
    return charts
