"""The grid explorer's data: every cell with its value on every axis the run varied, as one JSON block.

The page's script draws one X/Y(/Z) grid at a time from it (rows, columns and an optional third axis
chosen among these axes, the others fixed by selectors), so no image is drawn at build time and a
5,000-cell run costs one thumbnail per cell. Tile captions are per configuration (median time over its
cells and their range), never one batch's time. The JSON is made safe to sit inside a <script> element
(`<`, `>` and `&` escaped), and the page inserts every string with textContent.

Where a prompt suite labelled the prompts, each label column (category, challenge) comes as a group: a
choice like an axis, whose grid cell shows every image of its prompts (the axis it labels is then free),
and as a filter, the prompts of one category. A run without labels has no groups and the same payload.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from reports.axes import Axes
from reports.categories import NO_LABEL
from reports.embed import JPEG_QUALITY, THUMB_SIDE, EmbedMode, Thumb, thumbnail
from reports.frame import (
    TIME_COLUMN,
    config_keys,
    format_axis_value,
    is_missing,
    ordered_values,
    text_or,
)
from reports.metrics import MetricSpec
from reports.thumb_cache import ThumbCache

Progress = Callable[[str], None]


def option_columns(results: pd.DataFrame) -> pd.DataFrame:
    """Sampler options (e.g. eta) as columns `option:<name>`, for the options whose value varies."""
    if "sampler_options" not in results:
        return pd.DataFrame(index=results.index)
    opts = results["sampler_options"].map(lambda v: v if isinstance(v, dict) else {})
    names = sorted({k for d in opts for k in d})
    frame = pd.DataFrame(
        {
            f"option:{k}": opts.map(lambda d, k=k: json.dumps(d.get(k), sort_keys=True) if k in d else "(default)")
            for k in names
        },
        index=results.index,
    )
    # an option that only follows the sampler (each sampler has one value) is not an axis of its own
    within = frame.groupby(results["sampler"].to_numpy()).nunique().max() if len(frame.columns) else {}
    return frame[[c for c in frame if within[c] > 1]]


def explorer_axes(results: pd.DataFrame, axes: Axes) -> tuple[list[str], list[tuple[str, str]]]:
    """(varying axis columns, [(label, value)] of those with one value) in the record's order."""
    varying, fixed = [], []
    for column in axes.columns:
        if column not in results:
            continue
        values = results[column].drop_duplicates()
        if len(values) > 1:
            varying.append(column)
        elif len(values) == 1:
            value = values.iloc[0]
            value = int(value) if isinstance(value, float) and value.is_integer() else value
            fixed.append((axes.label(column), str(value) if value != "" else "(none)"))
    if "schedule" in results and results["schedule"].nunique() > 1 and "sampler" not in varying:
        varying.append("schedule")
    return varying, fixed


def explorer_groups(results: pd.DataFrame, axes: Axes) -> list[str]:
    """The label columns (a prompt's suite category) some cell has a value of: choices like an axis."""
    return [g.column for g in axes.groups if g.column in results and results[g.column].notna().any()]


def _label(column: str, value: object, axes: Axes) -> str:
    if column.startswith("option:"):
        return f"{column[7:]} = {value}"
    if column == "prompt" or column == "negative_prompt":
        return str(value) if value != "" else "(none)"
    return format_axis_value(column, value, axes)


def config_captions(results: pd.DataFrame, axes: Axes) -> pd.Series:
    """Per cell, its configuration's caption: median time over the configuration's cells and their range."""
    keys = config_keys(results, axes)
    ok = results[results["status"] == "ok"]
    stats = ok.groupby(keys, dropna=False)[TIME_COLUMN].agg(["median", "min", "max", "count"])
    text = stats.apply(
        lambda r: f"{r['median']:.3g} s" + (f" ({r['min']:.2g}–{r['max']:.2g})" if r["count"] > 1 else ""), axis=1
    )
    joined = results[keys].merge(text.rename("caption").reset_index(), on=keys, how="left")["caption"]
    return pd.Series(joined.to_numpy(), index=results.index)


def _metrics_text(cell: dict, metrics: list[MetricSpec]) -> list[list[str]]:
    return [[m.label, m.format(float(cell[m.name]))] for m in metrics if not is_missing(cell.get(m.name))]


def _readable(path: Path | None, mode: EmbedMode, href: str, cache: ThumbCache | None) -> Thumb | None:
    """The image's thumbnail, or None where it is missing or broken (the page shows a placeholder)."""
    if path is None or not path.is_file():
        return None
    try:
        return thumbnail(path, mode.embed, href, cache)
    except (OSError, SyntaxError, ValueError):  # truncated or not an image: Pillow's errors
        return None


def _thumbs(results: pd.DataFrame, run_dir: Path, mode: EmbedMode, progress: Progress | None) -> list[Thumb | None]:
    """Every cell's thumbnail; JPEGs made by an earlier build of this page are reused (`ThumbCache`)."""
    out: list[Thumb | None] = []
    cache = ThumbCache(run_dir, f"{THUMB_SIDE}px-q{JPEG_QUALITY}") if mode.embed else None
    try:
        for n, (status, image) in enumerate(zip(results["status"], results["image"]), start=1):
            path = None if status != "ok" or is_missing(image) else run_dir / str(image)
            out.append(_readable(path, mode, str(image), cache))
            if progress and n % 1000 == 0:
                progress(f"thumbnails {n}/{len(results)}")
    finally:
        if cache is not None:
            cache.close()
    return out


def build_explorer(
    results: pd.DataFrame,
    run_dir: Path,
    axes: Axes,
    metrics: list[MetricSpec],
    main: MetricSpec | None,
    mode: EmbedMode,
    progress: Progress | None = None,
) -> dict:
    """The explorer's payload; `embedded_bytes` says how much image data it carries."""
    results = pd.concat([results, option_columns(results)], axis=1)
    varying, fixed = explorer_axes(results, axes)
    varying += [c for c in results if c.startswith("option:")]
    for c in varying:  # a missing value (an old store's new column) is a value of its own, not a lost cell
        if results[c].isna().any():
            results[c] = results[c].astype(object).where(results[c].notna(), "(none)")
    groups = explorer_groups(results, axes)
    for g in groups:  # a cell without a label is in the group "(none)", as in the category tables
        results[g] = results[g].astype(object).where(results[g].notna(), NO_LABEL)
    values = {c: ordered_values(results, c) for c in varying + groups}
    index = {c: {v: i for i, v in enumerate(vals)} for c, vals in values.items()}
    thumbs = _thumbs(results, Path(run_dir), mode, progress)
    embedded = sum(len(t.uri) for t in thumbs if t is not None) if mode.embed else 0
    linked = mode.embed and embedded > mode.limit_bytes
    captions = config_captions(results, axes)
    wanted = [*varying, *groups, "status", "image", "error", TIME_COLUMN, *(m.name for m in metrics)]
    wanted += [main.name] if main is not None else []
    # plain dicts, not one Series per row (iterrows): the same values, a fraction of the time at 5,000 cells
    records = results[[c for c in dict.fromkeys(wanted) if c in results]].to_dict("records")
    cells = []
    for cell, thumb, caption in zip(records, thumbs, captions):
        entry: dict[str, object] = {
            "v": [index[c][cell[c]] for c in varying],
            "s": str(cell["status"]),
            "c": text_or(caption, ""),
            "m": _metrics_text(cell, metrics),
        }
        if groups:
            entry["g"] = [index[g][cell[g]] for g in groups]
        if main is not None and not is_missing(cell.get(main.name)):
            entry["q"] = f"{main.short} {main.format(float(cell[main.name]))}"
        if thumb is not None:
            entry.update(
                src=str(cell["image"]) if linked else thumb.uri,
                href=str(cell["image"]),
                info=thumb.parameters,
                px=list(thumb.size),
            )
        if cell["status"] != "ok":
            entry["err"] = text_or(cell["error"], "no error message recorded")
        t = cell[TIME_COLUMN]
        entry["t"] = None if is_missing(t) or not math.isfinite(float(t)) else float(t)
        cells.append(entry)
    payload: dict = {
        "axes": [
            {
                "key": c,
                "label": c[7:] if c.startswith("option:") else axes.label(c),
                "values": [_label(c, v, axes) for v in values[c]],
            }
            for c in varying
        ],
        "fixed": fixed,
        "cells": cells,
        "linked": linked or not mode.embed,
        "embedded_bytes": 0 if linked else embedded,
    }
    if groups:  # only where a suite labelled the prompts: a plain run's payload is as it was
        info = {g.column: g for g in axes.groups}
        payload["groups"] = [
            {
                "key": g,
                "label": info[g].label,
                "values": [str(v) for v in values[g]],
                "of": info[g].of if info[g].of in varying else None,
            }
            for g in groups
        ]
    return payload


def to_script_json(payload: dict) -> str:
    """JSON that cannot end its <script> element early nor open a comment: <, > and & as escapes."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )
