"""Charts of the per-configuration summary: time per sampler, time and NFE against steps, quality
against time with its Pareto front, peak memory. PNG for the page, SVG (text kept as text) for papers.

matplotlib is used through `Figure` objects only, never pyplot, so no global backend or figure state is
touched; every sampler keeps the colour reports.palette gave it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from reports.chart_files import draw_all
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


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h")
PANEL_SERIES = 10  # samplers per panel: more and a legend stops being readable
FAMILIES = {"k": "k-diffusion", "diffusers": "diffusers"}


def marker_of(sampler: str, colours: dict[str, str]) -> str:
    """Markers as well as colours, so samplers past the palette's 20 distinct colours stay apart."""
    order = list(colours)
    return MARKERS[order.index(sampler) % len(MARKERS)] if sampler in colours else "o"


def _legend(ax, entries: int) -> None:
    """Below the axes, in columns, so it never clips nor hides data however many series there are."""
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, -0.16),
        ncol=max(1, min(3, math.ceil(entries / 4))),
        fontsize=7.5,
        frameon=False,
    )


def _family(sampler_id: str) -> str:
    prefix = str(sampler_id).split(":", 1)[0]
    return FAMILIES.get(prefix, prefix)


def panels(summary: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Small multiples: one panel per task slice (model, size, CFG...) and sampler family, with at most
    PANEL_SERIES samplers each, so 60 samplers and several models stay legible."""
    out = []
    for slice_label, part in summary.groupby("slice", sort=False):
        families = part["sampler_id"].map(_family)
        many = families.nunique() > 1 or part["sampler"].nunique() > PANEL_SERIES
        for family in dict.fromkeys(families):
            rows = part[families == family]
            names = list(dict.fromkeys(rows["sampler"]))
            chunks = [names[i : i + PANEL_SERIES] for i in range(0, len(names), PANEL_SERIES)]
            for k, chunk in enumerate(chunks, start=1):
                title = [str(slice_label)] if slice_label else []
                title += [family + (f" ({k} of {len(chunks)})" if len(chunks) > 1 else "")] if many else []
                out.append((" · ".join(title), rows[rows["sampler"].isin(chunk)]))
    return out


def _grid(n: int, width: float = 6.4, height: float = 4.6) -> tuple[Figure, list]:
    ncols = min(2, max(1, n))
    nrows = max(1, math.ceil(n / ncols))
    fig = Figure(figsize=(width * ncols, height * nrows + 0.5), layout="constrained")
    return fig, _panels(fig, nrows, ncols, n)


def _panels(fig: Figure, nrows: int, ncols: int, n: int) -> list:
    """The first `n` cells of an nrows x ncols grid as axes; the rest stay empty (an axes costs ~10 ms
    to make, and a hidden one is left out of the layout anyway, so the page looks the same)."""
    spec = fig.add_gridspec(nrows, ncols)
    return [fig.add_subplot(spec[i // ncols, i % ncols]) for i in range(n)]


def _spans_decades(values: pd.Series) -> bool:
    v = values[values > 0]
    return len(v) > 1 and float(v.max()) / float(v.min()) >= 10


def _step_axis(ax, steps: pd.Series) -> None:
    """Steps on a log2 axis when they span 4x or more, ticks at the run's own (integer) step counts."""
    from matplotlib.ticker import FixedLocator, NullLocator, StrMethodFormatter

    values = sorted({int(v) for v in steps.dropna()})
    if len(values) > 1 and values[-1] / max(values[0], 1) >= 4:
        ax.set_xscale("log", base=2)
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.xaxis.set_major_locator(FixedLocator(values))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:.0f}"))
    ax.xaxis.set_minor_locator(NullLocator())


def _log(ax, which: str) -> None:
    """A log axis ticked at 1-2-5 with plain labels ("0.01", not mathtext) and no minor ticks: readable,
    and several times faster to draw than matplotlib's default log ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    axis = ax.yaxis if which == "y" else ax.xaxis
    (ax.set_yscale if which == "y" else ax.set_xscale)("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=8))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def _title(text: str, width: int = 70) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _series(summary: pd.DataFrame, colours: dict[str, str]) -> list[tuple[str, pd.DataFrame, str]]:
    """(name, rows by steps, marker) of each series (one sampler in one task slice)."""
    return [
        (str(name), rows.sort_values("steps"), marker_of(str(rows["sampler"].iloc[0]), colours))
        for name, rows in summary.groupby("series", sort=False)
    ]


def time_bars(summary: pd.DataFrame, colours: dict[str, str]) -> tuple[Figure, tuple[str, ...]]:
    """Sampling time per image for each series, one panel per step count, fastest on top."""
    rows = summary[summary["time_s"].notna()]
    steps = sorted(rows["steps"].unique())
    ncols = min(3, max(1, len(steps)))
    nrows = max(1, math.ceil(len(steps) / ncols))
    height = 0.9 + 0.26 * rows["series"].nunique()
    fig = Figure(figsize=(4.2 * ncols, height * nrows + 0.4), layout="constrained")
    axes = _panels(fig, nrows, ncols, len(steps))
    for ax, n in zip(axes, steps):
        at = rows[rows["steps"] == n].sort_values("time_s", ascending=False)
        err = [(at["time_s"] - at["time_min"]).clip(lower=0), (at["time_max"] - at["time_s"]).clip(lower=0)]
        ax.barh(
            at["series"],
            at["time_s"],
            xerr=err,
            capsize=3,
            color=[colours[s] for s in at["sampler"]],
            error_kw={"elinewidth": 1},
        )
        ax.set_title(f"{int(n)} steps", fontsize=10)
        ax.set_xlabel(TIME_LABEL)
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle("Sampler time comparison (whiskers: fastest and slowest repeat)", fontsize=11)
    return fig, tuple(dict.fromkeys(rows["series"]))


def _lines(
    summary: pd.DataFrame, colours: dict[str, str], column: str, ylabel: str, title: str
) -> tuple[Figure, tuple[str, ...]]:
    """One line per series against steps, in small multiples; log y when the values span decades."""
    shown = summary[summary[column].notna()]
    groups = panels(shown) if len(shown) else []
    fig, axes = _grid(len(groups))
    drawn: list[str] = []
    log = _spans_decades(shown[column]) if len(shown) else False
    for ax, (panel, rows) in zip(axes, groups):
        series = _series(rows, colours)
        for i, (name, part, marker) in enumerate(series):
            colour = colours[part["sampler"].iloc[0]]
            # equal values (e.g. the same NFE) would hide earlier series: draw those wider, underneath
            wide = 1 - i / max(1, len(series) - 1)
            style = {
                "color": colour,
                "marker": marker,
                "label": name,
                "linewidth": 1 + 2 * wide,
                "markersize": 4 + 4 * wide,
            }
            if column == "time_s":
                err = np.vstack(
                    [
                        (part["time_s"] - part["time_min"]).clip(lower=0).to_numpy(),
                        (part["time_max"] - part["time_s"]).clip(lower=0).to_numpy(),
                    ]
                )
                ax.errorbar(part["steps"].to_numpy(), part[column].to_numpy(), yerr=err, capsize=2, **style)
            else:
                ax.plot(part["steps"].to_numpy(), part[column].to_numpy(), **style)
            drawn.append(name)
        if log:
            _log(ax, "y")
        _step_axis(ax, rows["steps"])
        ax.set_xlabel("steps")
        ax.set_ylabel(ylabel)
        ax.set_title(_title(panel), fontsize=9)
        ax.grid(alpha=0.3)
        _legend(ax, len(series))
    fig.suptitle(title + (" (log scale)" if log else ""), fontsize=11)
    return fig, tuple(dict.fromkeys(drawn))


def time_vs_steps(summary: pd.DataFrame, colours: dict[str, str]) -> tuple[Figure, tuple[str, ...]]:
    return _lines(summary, colours, "time_s", TIME_LABEL, "Time vs steps")


def nfe_vs_steps(summary: pd.DataFrame, colours: dict[str, str]) -> tuple[Figure, tuple[str, ...]]:
    return _lines(summary, colours, "nfe", "model evaluations (NFE) per image", "NFE vs steps")


def quality_vs_time(
    summary: pd.DataFrame, colours: dict[str, str], spec: MetricSpec, random_weights: bool = False
) -> tuple[Figure, tuple[str, ...]]:
    """One point per configuration, small multiples; hollow points are not ranked; each slice's Pareto
    front is drawn in each of its panels (its members are named in the caption, not on the plot)."""
    shown = summary[summary[spec.name].notna() & summary["time_s"].notna()]
    groups = panels(shown) if len(shown) else []
    fig, axes = _grid(len(groups))
    ranked, _ = eligible(summary, spec)
    log_x = _spans_decades(shown["time_s"]) if len(shown) else False
    log_y = spec.log or (_spans_decades(shown[spec.name]) and bool((shown[spec.name] > 0).all()))
    drawn: list[str] = []
    for ax, (panel, rows) in zip(axes, groups):
        series = _series(rows, colours)
        for name, part, marker in series:
            colour = colours[part["sampler"].iloc[0]]
            ax.plot(part["time_s"], part[spec.name], color=colour, alpha=0.35, linewidth=1)
            hollow = ~part.index.isin(ranked.index)
            if (~hollow).any():
                ax.scatter(
                    part["time_s"][~hollow],
                    part[spec.name][~hollow],
                    color=colour,
                    marker=marker,
                    label=name,
                    zorder=3,
                    s=24,
                )
            if hollow.any():
                ax.scatter(
                    part["time_s"][hollow],
                    part[spec.name][hollow],
                    facecolors="none",
                    marker=marker,
                    edgecolors=colour,
                    zorder=3,
                    s=24,
                    label=f"{name} (not ranked)",
                )
            drawn.append(name)
        slice_rows = ranked[ranked["slice"] == rows["slice"].iloc[0]] if "slice" in ranked else ranked
        front = pareto_front(slice_rows, spec)
        if len(front):
            # min/max goals: the best quality reachable within a time is a staircase; "closer to 1" is not
            where = {"where": "post"} if spec.goal != "one" else {}
            draw_front = ax.step if where else ax.plot
            draw_front(
                front["time_s"],
                front[spec.name],
                color="black",
                linestyle="--",
                linewidth=1,
                label="Pareto front",
                zorder=2,
                **where,
            )
        if log_y:
            _log(ax, "y")
        if log_x:
            _log(ax, "x")
        ax.set_xlabel(TIME_LABEL)
        ax.set_ylabel(f"{spec.label} ({spec.direction_text})")
        ax.set_title(_title(panel), fontsize=9)
        ax.grid(alpha=0.3)
        _legend(ax, len(series) + 1)
    note = " (random weights: not meaningful)" if spec.needs_real_weights and random_weights else ""
    scale = " (log-log)" if log_x and log_y else " (log time)" if log_x else ""
    fig.suptitle(_title(f"Quality vs time: {spec.label}{scale}{note}", 90), fontsize=11)
    return fig, tuple(dict.fromkeys(drawn))


def front_text(summary: pd.DataFrame, spec: MetricSpec) -> str:
    """The Pareto front's members per slice, for the caption (labels on the plot would overlap)."""
    ranked, _ = eligible(summary, spec)
    parts = []
    for slice_label, rows in ranked.groupby("slice", sort=False) if len(ranked) else []:
        front = pareto_front(rows, spec)
        names = ", ".join(front["choice"] if "choice" in front else front["label"])
        parts.append(f"{slice_label}: {names}" if slice_label else names)
    return "Pareto front, fastest first: " + "; ".join(parts) + "." if parts else ""


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


def render_charts(
    summary: pd.DataFrame,
    colours: dict[str, str],
    metrics: list[MetricSpec],
    run_dir: Path,
    memory_kind: str,
    random_weights: bool = False,
    workers: int = 2,
) -> list[Chart]:
    """Draw every chart into run_dir/charts as PNG and SVG (`workers` processes at once)."""
    run_dir = Path(run_dir)
    out_dir = run_dir / "charts"
    out_dir.mkdir(parents=True, exist_ok=True)
    timing = "Sampling time per image, median over prompts and seeds of each cell's median repeat."
    plans: list[tuple[str, str, str, Callable[[], tuple[Figure, tuple[str, ...]]]]] = [
        ("time_bars", "Sampler time comparison", timing, lambda: time_bars(summary, colours)),
        ("time_vs_steps", "Time vs steps", timing, lambda: time_vs_steps(summary, colours)),
        (
            "nfe_vs_steps",
            "NFE vs steps",
            "Denoiser evaluations per image (a CFG pair counts once).",
            lambda: nfe_vs_steps(summary, colours),
        ),
    ]
    for spec in metrics:
        caption = (
            f"{spec.label}: {spec.help}; {spec.direction_text}; mean over prompts and seeds. "
            "Dashed: the Pareto front (nothing is both faster and better); hollow points are not ranked. "
            + front_text(summary, spec)
        )
        plans.append(
            (
                f"quality_{spec.name}",
                f"Quality vs time: {spec.label}",
                caption,
                partial(quality_vs_time, summary, colours, spec, random_weights),
            )
        )
    if "cuda" in memory_kind:  # otherwise memory is not per cell: the page says so in one sentence
        plans.append(
            (
                "peak_memory",
                "Peak memory",
                "Measured as: " + MEMORY_KINDS.get(memory_kind, memory_kind),
                lambda: peak_memory(summary, colours),
            )
        )
    drawn = draw_all([(name, plot, out_dir, run_dir) for name, _, _, plot in plans], workers)
    return [
        Chart(name, title, files[0], files[1], caption, files[2])
        for (name, title, caption, _), files in zip(plans, drawn)
        if files is not None
    ]
