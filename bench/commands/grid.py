"""`bench grid RUN --rows sampler --cols steps [--where prompt="a red circle"] -o grid.png`: one X/Y grid.

One unpaginated PNG at full resolution (the WebUI "X/Y plot"), any two axes of the run as rows and
columns; every other varied axis is fixed by --where or at its first value (said on stderr). A grid above
the pixel limit is refused before anything is drawn, with its size and the limit.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_MEGAPIXELS = 200.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory written by `bench run`")
    parser.add_argument("--rows", default="sampler", help="the axis of the rows (default: sampler)")
    parser.add_argument("--cols", default="steps", help="the axis of the columns (default: steps)")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="AXIS=VALUE",
        help='keep only cells with this value, e.g. prompt="a red circle" or seed=2 (repeatable)',
    )
    parser.add_argument("-o", "--output", default=None, help="the PNG to write (default: RUN_DIR/grids/ROWS-COLS.png)")
    parser.add_argument("--tile", type=int, default=None, help="tile size in px (default: the images' width, >= 128)")
    parser.add_argument(
        "--max-megapixels",
        type=float,
        default=DEFAULT_MEGAPIXELS,
        help=f"refuse a grid larger than this (default: {DEFAULT_MEGAPIXELS:g} MP)",
    )


def _axis(name: str, columns: list[str], frame) -> str:
    from bench.errors import UserError

    usable = [c for c in columns if c in frame]
    if name not in usable:
        raise UserError(f"unknown axis {name!r}; the run's axes: {', '.join(usable)}")
    return name


def _filter(frame, where: list[str], columns: list[str]):
    """Apply each --where AXIS=VALUE; values compare as text, or as numbers on numeric axes."""
    import pandas as pd

    from bench.errors import UserError

    for item in where:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip().strip('"').strip("'")
        if not sep:
            raise UserError(f"--where {item!r}: write AXIS=VALUE, e.g. seed=2")
        _axis(key, columns, frame)
        column = frame[key]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            try:
                keep = column.astype(float) == float(value)
            except ValueError:
                raise UserError(f"--where {key}={value}: {key} is a number") from None
        else:
            keep = column.astype(str) == value
        if not keep.any():
            known = ", ".join(map(str, list(dict.fromkeys(column.tolist()))[:12]))
            raise UserError(f"--where {key}={value}: no cell has it; values: {known}")
        frame = frame[keep]
    return frame


def run(args: argparse.Namespace) -> int:
    from bench import record
    from bench.errors import UserError
    from bench.store import load_results
    from reports.axes import Axes
    from reports.grids import GridTooLarge, single_grid

    run_dir = Path(args.run_dir)
    frame = load_results(run_dir)
    if frame.empty:
        raise UserError(f"{run_dir}: the run has no cells")
    axes = Axes.of(record.for_reports())
    columns = list(axes.columns)
    rows, cols = _axis(args.rows, columns, frame), _axis(args.cols, columns, frame)
    if rows == cols:
        raise UserError(f"--rows and --cols are both {rows}: choose two different axes")
    frame = _filter(frame, args.where, columns)
    if args.max_megapixels <= 0 or (args.tile is not None and args.tile < 8):
        raise UserError("--max-megapixels must be positive and --tile at least 8 px")
    tile = args.tile or max(128, int(frame["width"].max()))
    out = Path(args.output) if args.output else run_dir / "grids" / f"{rows}-{cols}.png"
    try:
        page, notes = single_grid(
            frame.reset_index(drop=True), run_dir, rows, cols, axes, out, tile, int(args.max_megapixels * 1e6)
        )
    except GridTooLarge as exc:
        raise UserError(str(exc)) from None
    for note in notes:
        print(f"bench grid: {note}", file=sys.stderr)
    print(
        f"grid: {out} ({page.size[0]} x {page.size[1]} px, {len(page.row_labels)} rows x "
        f"{len(page.col_labels)} columns)"
    )
    return 0
