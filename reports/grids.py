"""Comparison grids (the WebUI "X/Y/Z plot"): any two axes as rows and columns, every other varied axis
as separate grids, pages instead of one huge image, each tile captioned with its time and main quality.

Each page records where its tiles are (`Tile.box`) so the HTML report can link every tile to the
full-size image, and writes a `parameters` PNG text chunk naming its axes and fixed values.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from reports import draw
from reports.axes import Axes
from reports.frame import (
    TIME_COLUMN,
    format_axis_value,
    is_missing,
    ordered_values,
    text_or,
    varying,
)
from reports.metrics import MetricSpec, main_metric

RANDOM_WEIGHTS_NOTE = "Random weights: these images are not meaningful (time and memory are real)."


@dataclass(frozen=True)
class GridSpec:
    """What to draw: `rows` and `cols` are result columns; `where` fixes other columns first."""

    kind: str
    title: str
    rows: str
    cols: str
    where: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Layout:
    """Pixel sizes of a page; a page holds at most max_rows x max_cols tiles."""

    tile: int = 192
    max_rows: int = 8
    max_cols: int = 8
    header_w: int = 200
    gap: int = 6
    min_width: int = 560


@dataclass(frozen=True)
class Tile:
    box: tuple[int, int, int, int]  # x, y, width, height in the page image
    href: str | None  # full-size image relative to the run directory, None when there is none
    text: str  # row, column and caption or failure, for alt text and tooltips
    status: str  # "ok" | "failed" | "missing"


@dataclass(frozen=True)
class GridPage:
    kind: str
    title: str
    path: str  # relative to the run directory
    page: int
    pages: int
    rows_axis: str
    cols_axis: str
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    fixed: tuple[tuple[str, str], ...]
    size: tuple[int, int]
    tiles: tuple[Tile, ...]
    parameters: str
    warning: str = ""  # shown with the grid, e.g. the random-weights note


def default_specs(results: pd.DataFrame, steps: int | None = None) -> list[GridSpec]:
    """Samplers x steps per (prompt, seed); samplers x seeds and prompts x samplers at one step count."""
    chosen = int(steps if steps is not None else results["steps"].max())
    specs = [GridSpec("samplers-steps", "Samplers × steps", "sampler", "steps")]
    at = (("steps", chosen),)
    if results["seed"].nunique() > 1:
        specs.append(GridSpec("samplers-seeds", f"Each sampler across seeds at {chosen} steps", "sampler", "seed", at))
    if results["prompt"].nunique() > 1:
        specs.append(GridSpec("prompts-samplers", f"Prompts × samplers at {chosen} steps", "prompt", "sampler", at))
    return specs


def _chunks(values: Sequence, size: int) -> list[list]:
    return [list(values[i : i + size]) for i in range(0, len(values), size)] or [[]]


def _caption(cell: pd.Series, metric: MetricSpec | None) -> str:
    """Time (the configuration's median over its images when given, as `config_time`) and main quality."""
    config_time = cell.get("config_time")
    parts = [config_time if isinstance(config_time, str) and config_time else f"{float(cell[TIME_COLUMN]):.3g} s"]
    if metric is not None and pd.notna(cell.get(metric.name)):
        note = " (stoch.)" if metric.exact_only_for_deterministic and bool(cell["stochastic"]) else ""
        parts.append(f"{metric.short} {metric.format(float(cell[metric.name]))}{note}")
    return " · ".join(parts)


def _aspect(group: pd.DataFrame) -> float:
    ratio = (group["height"].astype(float) / group["width"].astype(float)).median()
    return min(max(float(ratio), 0.5), 2.0) if math.isfinite(ratio) else 1.0


class _Painter:
    """Draws one page; keeps the geometry in one place."""

    def __init__(
        self,
        layout: Layout,
        aspect: float,
        n_rows: int,
        n_cols: int,
        col_labels: list[str],
        title_lines: list[tuple[str, str]],
    ):
        self.l = layout
        self.small, self.label, self.title_font = draw.font(12), draw.font(14), draw.font(16, bold=True)
        self.tile_w, self.tile_h = layout.tile, round(layout.tile * aspect)
        self.cap_h = 2 * draw.line_height(self.small) + 4
        self.cell_w, self.cell_h = self.tile_w + layout.gap, self.tile_h + self.cap_h + layout.gap
        self.width = max(layout.header_w + n_cols * self.cell_w + layout.gap, layout.min_width)
        self.col_lines = [draw.wrap(c, self.label, self.tile_w - 4, 3) for c in col_labels]
        self.col_h = max((len(c) for c in self.col_lines), default=1) * draw.line_height(self.label) + 10
        self.title = [
            (draw.wrap(t, self.title_font if k == "bold" else self.label, self.width - 20, 4), k)
            for t, k in title_lines
        ]
        self.title_h = 10 + sum(len(lines) * draw.line_height(self.title_font) for lines, _ in self.title)
        self.top = self.title_h + self.col_h
        self.height = self.top + n_rows * self.cell_h + layout.gap
        self.image = Image.new("RGB", (self.width, self.height), (255, 255, 255))
        self.pen = ImageDraw.Draw(self.image)

    def headers(self, rows_label: str, cols_label: str, row_labels: list[str]) -> None:
        y = 8
        for lines, kind in self.title:
            fnt = self.title_font if kind == "bold" else self.label
            fill = draw.WARN if kind == "warn" else draw.INK
            draw.draw_lines(self.pen, lines, (10, y, self.width - 10, y + 1), fnt, fill, "left", "top")
            y += len(lines) * draw.line_height(self.title_font)
        corner = f"rows: {rows_label}\ncolumns: {cols_label}"
        draw.draw_lines(
            self.pen,
            corner.splitlines(),
            (8, self.title_h, self.l.header_w - 8, self.top),
            self.small,
            draw.MUTED,
            "left",
            "middle",
        )
        for j, lines in enumerate(self.col_lines):
            x = self.l.header_w + j * self.cell_w
            draw.draw_lines(
                self.pen,
                lines,
                (x, self.title_h, x + self.tile_w, self.top - 4),
                self.label,
                align="center",
                valign="bottom",
            )
        max_lines = max(1, (self.tile_h + self.cap_h) // draw.line_height(self.label))
        for i, label in enumerate(row_labels):
            y = self.top + i * self.cell_h
            lines = draw.wrap(label, self.label, self.l.header_w - 16, max_lines)
            draw.draw_lines(
                self.pen,
                lines,
                (8, y, self.l.header_w - 8, y + self.tile_h),
                self.label,
                align="right",
                valign="middle",
            )

    def tile_box(self, i: int, j: int) -> tuple[int, int, int, int]:
        return (self.l.header_w + j * self.cell_w, self.top + i * self.cell_h, self.tile_w, self.tile_h)

    def picture(self, box: tuple[int, int, int, int], path: Path, caption: str) -> None:
        x, y, w, h = box
        self.image.paste(draw.fit_image(path, (w, h), (245, 245, 245)), (x, y))
        lines = draw.wrap(caption, self.small, w - 2, 2)
        draw.draw_lines(
            self.pen, lines, (x, y + h + 2, x + w, y + h + self.cap_h), self.small, align="center", valign="top"
        )

    def notice(self, box: tuple[int, int, int, int], head: str, body: str, failed: bool) -> None:
        x, y, w, h = box
        fill, outline = ((253, 226, 226), (190, 40, 40)) if failed else ((238, 238, 238), (200, 200, 200))
        self.pen.rectangle((x, y, x + w - 1, y + h - 1), fill=fill, outline=outline, width=2)
        head_font = draw.font(18, bold=True)
        draw.draw_lines(
            self.pen, [head], (x, y + 8, x + w, y + 30), head_font, draw.WARN if failed else draw.MUTED, "center", "top"
        )
        max_lines = max(1, (h - 44) // draw.line_height(self.small))
        lines = draw.wrap(body, self.small, w - 12, max_lines)
        draw.draw_lines(self.pen, lines, (x + 6, y + 38, x + w - 6, y + h - 4), self.small, draw.INK, "left", "top")


def _draw_tile(
    painter: _Painter,
    box: tuple[int, int, int, int],
    cell: pd.Series | None,
    run_dir: Path,
    metric: MetricSpec | None,
    where_text: str,
) -> Tile:
    if cell is None:
        painter.notice(box, "no cell", "this combination was not in the run", failed=False)
        return Tile(box, None, f"{where_text}: not in the run", "missing")
    if cell["status"] != "ok":
        reason = text_or(cell["error"], "no error message recorded")
        painter.notice(box, "FAILED", reason, failed=True)
        return Tile(box, None, f"{where_text}: failed: {reason}", "failed")
    image = None if is_missing(cell["image"]) else run_dir / str(cell["image"])
    if image is None or not image.is_file():
        painter.notice(box, "no image", f"image file missing: {cell['image']}", failed=True)
        return Tile(box, None, f"{where_text}: image file missing", "missing")
    caption = _caption(cell, metric)
    try:
        painter.picture(box, image, caption)
    except OSError as exc:  # a truncated or garbage PNG (PIL raises OSError subclasses): a placeholder
        painter.notice(box, "broken image", f"{cell['image']}: {exc}", failed=True)
        return Tile(box, None, f"{where_text}: broken image file", "missing")
    return Tile(box, str(cell["image"]), f"{where_text}: {caption}", "ok")


def _parameters(spec: GridSpec, rows: list, cols: list, fixed: Sequence[tuple[str, str]], page: int, pages: int) -> str:
    lines = [
        f"samplerbench grid: {spec.title}",
        f"rows: {spec.rows} = " + " | ".join(map(str, rows)),
        f"columns: {spec.cols} = " + " | ".join(map(str, cols)),
    ]
    lines += [f"{axis}: {value}" for axis, value in fixed]
    return "\n".join(lines + [f"page: {page}/{pages}"])


def _pages_for_group(
    group: pd.DataFrame,
    spec: GridSpec,
    fixed: list[tuple[str, str]],
    run_dir: Path,
    out_dir: Path,
    layout: Layout,
    metric: MetricSpec | None,
    axes: Axes,
) -> list[GridPage]:
    random_weights = bool(group["random_weights"].any()) if "random_weights" in group else False
    row_values, col_values = ordered_values(group, spec.rows), ordered_values(group, spec.cols)
    lookup: dict[tuple, pd.Series] = {}
    for _, cell in group.iterrows():
        lookup.setdefault((cell[spec.rows], cell[spec.cols]), cell)
    row_chunks, col_chunks = _chunks(row_values, layout.max_rows), _chunks(col_values, layout.max_cols)
    pages = len(row_chunks) * len(col_chunks)
    digest = hashlib.sha1(repr((spec, fixed)).encode("utf-8")).hexdigest()[:10]
    out = []
    for n, (rows, cols) in enumerate(((r, c) for r in row_chunks for c in col_chunks), start=1):
        row_labels = [format_axis_value(spec.rows, v, axes) for v in rows]
        col_labels = [format_axis_value(spec.cols, v, axes) for v in cols]
        title = [(spec.title + (f" (page {n} of {pages})" if pages > 1 else ""), "bold")]
        title += [(" · ".join(f"{axes.label(a)}: {v}" for a, v in fixed), "plain")] if fixed else []
        title += [(RANDOM_WEIGHTS_NOTE, "warn")] if random_weights else []
        painter = _Painter(layout, _aspect(group), len(rows), len(cols), col_labels, title)
        painter.headers(axes.label(spec.rows), axes.label(spec.cols), row_labels)
        tiles = [
            _draw_tile(
                painter,
                painter.tile_box(i, j),
                lookup.get((rv, cv)),
                run_dir,
                metric,
                f"{row_labels[i]} | {col_labels[j]}",
            )
            for i, rv in enumerate(rows)
            for j, cv in enumerate(cols)
        ]
        params = _parameters(spec, rows, cols, fixed, n, pages)
        info = PngInfo()
        info.add_text("parameters", params)
        path = out_dir / f"{spec.kind}-{digest}-p{n}.png"
        painter.image.save(path, pnginfo=info)
        where = path.relative_to(run_dir).as_posix() if path.is_relative_to(run_dir) else str(path)
        out.append(
            GridPage(
                spec.kind,
                spec.title,
                where,
                n,
                pages,
                spec.rows,
                spec.cols,
                tuple(row_labels),
                tuple(col_labels),
                tuple(fixed),
                painter.image.size,
                tuple(tiles),
                params,
                RANDOM_WEIGHTS_NOTE if random_weights else "",
            )
        )
    return out


def render_grids(
    results: pd.DataFrame,
    run_dir: Path,
    spec: GridSpec,
    axes: Axes,
    layout: Layout = Layout(),
    out_dir: Path | None = None,
) -> list[GridPage]:
    """Draw every page of one grid kind into run_dir/grids (or out_dir) and describe them."""
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir / "grids"
    out_dir.mkdir(parents=True, exist_ok=True)
    subset = results
    for column, value in spec.where:
        subset = subset[subset[column] == value]
    if subset.empty:
        return []
    split = [c for c in varying(subset, axes.columns) if c not in (spec.rows, spec.cols)]
    groups = subset.groupby(split, sort=False, dropna=False) if split else [((), subset)]
    metric = main_metric(results)
    pages: list[GridPage] = []
    for key, group in groups:
        key = key if isinstance(key, tuple) else (key,)
        fixed = [(c, str(v)) for c, v in zip(split, key)] + [(c, str(v)) for c, v in spec.where]
        pages += _pages_for_group(group, spec, fixed, run_dir, out_dir, layout, metric, axes)
    return pages


class GridTooLarge(ValueError):
    """The grid would exceed the pixel limit; the message states both."""


def estimate_size(n_rows: int, n_cols: int, layout: Layout, aspect: float) -> tuple[int, int]:
    """An upper bound of a page's pixel size, known before anything is drawn."""
    cap = 2 * draw.line_height(draw.font(12)) + 4
    width = max(layout.header_w + n_cols * (layout.tile + layout.gap) + layout.gap, layout.min_width)
    header = 10 + 4 * 3 * draw.line_height(draw.font(16, bold=True)) + 3 * draw.line_height(draw.font(14)) + 10
    return width, header + n_rows * (round(layout.tile * aspect) + cap + layout.gap) + layout.gap


def single_grid(
    results: pd.DataFrame, run_dir: Path, rows: str, cols: str, axes: Axes, out: Path, tile: int, max_pixels: int
) -> tuple[GridPage, list[str]]:
    """One unpaginated full-resolution X/Y grid of `results` (already filtered) into `out`; the other
    varied axes are fixed at their first value, and each such choice is returned as a note."""
    from reports.explorer import config_captions

    notes = []
    subset = results.assign(config_time=config_captions(results, axes))
    for column in varying(subset, axes.columns):
        if column not in (rows, cols):
            first = ordered_values(subset, column)[0]
            notes.append(f"{axes.label(column)} fixed at {first} (choose with --where {column}=...)")
            subset = subset[subset[column] == first]
    n_rows, n_cols = subset[rows].nunique(), subset[cols].nunique()
    layout = Layout(tile=tile, max_rows=max(1, n_rows), max_cols=max(1, n_cols))
    width, height = estimate_size(n_rows, n_cols, layout, _aspect(subset))
    if width * height > max_pixels:
        raise GridTooLarge(
            f"a {n_rows} x {n_cols} grid of {tile} px tiles is about {width} x {height} px "
            f"({width * height / 1e6:.0f} MP), over the limit of {max_pixels / 1e6:.0f} MP: narrow it "
            "with --where, use a smaller --tile or raise --max-megapixels"
        )
    spec = GridSpec("grid", f"{axes.label(rows)} × {axes.label(cols)}", rows, cols)
    fixed = [
        (axes.label(c), str(subset[c].iloc[0]))
        for c in axes.columns
        if c in subset and c not in (rows, cols) and subset[c].nunique() == 1
    ]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    page = _pages_for_group(subset, spec, fixed, Path(run_dir), out.parent, layout, main_metric(results), axes)[0]
    drawn = Path(page.path) if Path(page.path).is_absolute() else Path(run_dir) / page.path
    drawn.replace(out)
    return page, notes
