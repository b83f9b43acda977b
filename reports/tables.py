"""The report's tables as plain data (text to show, value to sort by), so the template stays logic-free.

Every value is kept as it came; the template escapes it. Numbers carry a separate sort key so the
page's JavaScript sorts 9 before 10 and puts missing values last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from reports.axes import Axes
from reports.frame import TIME_COLUMN, is_missing, text_or, varying
from reports.metrics import METRICS, MetricSpec

#: columns that are never an unknown metric: the known metrics (the harness's own columns come with `Axes`)
KNOWN_COLUMNS = frozenset(METRICS)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool
    title: str = ""  # tooltip: what the column means


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str  # numeric columns: a float as text, "" when missing
    href: str | None = None
    colour: str | None = None


@dataclass(frozen=True)
class Table:
    id: str
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""


def number(value: Any, fmt: str = "{:.3g}") -> Cell:
    if is_missing(value):
        return Cell("n/a", "")
    return Cell(fmt.format(value), repr(float(value)))


def text(value: object, colour: str | None = None, href: str | None = None) -> Cell:
    shown = "" if is_missing(value) else str(value)
    return Cell(shown, shown.lower(), href, colour)


def mib(value: Any) -> Cell:
    return Cell("n/a", "") if is_missing(value) else Cell(f"{float(value) / 2**20:.0f}", repr(float(value)))


def metric_cell(spec: MetricSpec, value: Any) -> Cell:
    return Cell("n/a", "") if is_missing(value) else Cell(spec.format(float(value)), repr(float(value)))


def unknown_metric_columns(results: pd.DataFrame, axes: Axes) -> list[str]:
    """Float columns that are neither declared by the harness nor known metrics: shown, never ranked."""
    known = KNOWN_COLUMNS | axes.record_columns | set(axes.columns)
    return [c for c in results.columns if c not in known and pd.api.types.is_float_dtype(results[c])]


def config_table(
    summary: pd.DataFrame, metrics: list[MetricSpec], colours: dict[str, str], extra_keys: list[str], axes: Axes
) -> Table:
    """One row per configuration: what a reader sorts to choose a sampler."""
    columns = [Column("sampler", "sampler", False), Column("steps", "steps", True)]
    columns += [Column(k, axes.label(k), summary[k].dtype.kind in "if") for k in extra_keys]
    columns += [
        Column("time", "s/image", True, "sampling seconds per image, median"),
        Column("spread", "repeat range", False, "fastest to slowest timing repeat"),
        Column("nfe", "NFE", True, "denoiser evaluations per image"),
        Column("mem", "peak MiB", True, "largest peak memory of its cells"),
        Column("failed", "failed", True, "failed cells out of all cells"),
    ]
    columns += [Column(m.name, m.label, True, f"{m.help}; {m.direction_text}") for m in metrics]
    rows = []
    for _, r in summary.iterrows():
        spread = "n/a" if is_missing(r["time_min"]) else f"{r['time_min']:.3g}–{r['time_max']:.3g}"
        cells = [text(r["sampler"], colours.get(r["sampler"])), number(r["steps"], "{:.0f}")]
        cells += [number(r[k]) if c.numeric else text(r[k]) for k, c in zip(extra_keys, columns[2:])]
        cells += [
            number(r["time_s"]),
            Cell(spread, ""),
            number(r["nfe"], "{:.0f}"),
            mib(r["peak_mem_bytes"]),
            Cell(f"{r['n_failed']}/{r['n_cells']}", repr(float(r["n_failed"]))),
        ]
        cells += [metric_cell(m, r[m.name]) for m in metrics]
        rows.append(tuple(cells))
    return Table("configs", "Per configuration (mean over prompts and seeds)", tuple(columns), tuple(rows))


def cell_table(
    results: pd.DataFrame, metrics: list[MetricSpec], colours: dict[str, str], axes: Axes, limit: int = 2000
) -> Table:
    """One row per image, linked to its full-size PNG; capped so the page stays usable."""
    shown = ["prompt", "seed"] + [
        c for c in varying(results, axes.columns) if c not in ("sampler", "steps", "prompt", "seed")
    ]
    extra = unknown_metric_columns(results, axes)
    columns = [Column("sampler", "sampler", False), Column("steps", "steps", True)]
    columns += [Column(a, axes.label(a), axes.numeric(a)) for a in shown]
    columns += [
        Column("status", "status", False),
        Column("time", "s/image", True),
        Column("total", "total s", True, "encode + sample + decode"),
        Column("nfe", "NFE", True),
    ]
    columns += [Column(m.name, m.label, True, f"{m.help}; {m.direction_text}") for m in metrics]
    columns += [Column(c, c, True, "unknown direction: not ranked") for c in extra]
    columns += [Column("image", "image", False)]
    rows = []
    for r in results.head(limit).to_dict("records"):  # plain dicts: a Series per row costs more than the row
        cells = [text(r["sampler"], colours.get(r["sampler"])), number(r["steps"], "{:.0f}")]
        cells += [number(r[a], "{:g}") if c.numeric else text(r[a]) for a, c in zip(shown, columns[2:])]
        cells += [text(r["status"]), number(r[TIME_COLUMN]), number(r["total_s"]), number(r["nfe"], "{:.0f}")]
        cells += [metric_cell(m, r[m.name]) for m in metrics]
        cells += [number(r[c]) for c in extra]
        cells.append(text("none") if is_missing(r["image"]) else text("open", href=str(r["image"])))
        rows.append(tuple(cells))
    note = (
        f"Showing the first {limit} of {len(results)} cells: the grid explorer shows every one, and "
        "results.csv has them all."
        if len(results) > limit
        else ""
    )
    return Table("cells", "Every cell (one image each)", tuple(columns), tuple(rows), note)


def failure_rows(results: pd.DataFrame) -> list[dict[str, str]]:
    failed = results[results["status"] != "ok"]
    return [
        {
            "sampler": str(r["sampler"]),
            "steps": str(r["steps"]),
            "prompt": str(r["prompt"]),
            "seed": str(r["seed"]),
            "cell_id": str(r["cell_id"]),
            "error": text_or(r["error"], "no error message recorded"),
        }
        for _, r in failed.iterrows()
    ]
