"""The size of a run before anything is allocated, its refusal above a limit, and `bench run --dry-run`.

The cell count is the product of the axis lengths of the validated config, so a 10^7-cell matrix is
refused in milliseconds instead of taking minutes and gigabytes to expand. `--dry-run` also says how many
cells the output folder already holds (read only) and how long the rest should take, from that store's
own timings.
"""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from bench.errors import UserError

MAX_CELLS = 100_000  #: above this a run needs --yes (about a day on the analytic model at 1 cell/s)


def axis_lengths(config) -> dict[str, int]:
    """The number of values of each axis (bench.record.AXES), in matrix order."""
    return {axis: len(values) for axis, values in config.axes.items()}


def cell_count(config) -> int:
    return math.prod(axis_lengths(config).values())


def describe_count(config) -> str:
    from bench.record import AXES

    lengths = [f"{n} {AXES[axis].key.replace('_', ' ')}" for axis, n in axis_lengths(config).items() if n > 1]
    return f"{cell_count(config):,} cells" + (f" ({' x '.join(lengths)})" if lengths else "")


def check_size(config, yes: bool) -> None:
    """Refuse a matrix above MAX_CELLS unless the user said --yes."""
    if cell_count(config) > MAX_CELLS and not yes:
        where = f"{config.source}: " if config.source else ""
        raise UserError(
            f"{where}the benchmark has {describe_count(config)}, more than {MAX_CELLS:,}; "
            "pass --yes to run it anyway, or --dry-run to see the plan"
        )


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def estimate_seconds(todo, rows: list[dict]) -> tuple[float, int] | None:
    """(seconds for the cells `todo`, timed cells it is based on) from the store's finished rows.

    Per (sampler, steps, size) where the store has that workload, else the store's median per cell.
    """
    timed = [r for r in rows if r.get("status") == "ok" and r.get("total_s") is not None]
    if not timed:
        return None
    by_key: dict[tuple, list[float]] = {}
    for r in timed:
        by_key.setdefault((r["sampler_id"], r["steps"], r["width"], r["height"]), []).append(r["total_s"])
    median = {key: statistics.median(v) for key, v in by_key.items()}
    fallback = statistics.median(r["total_s"] for r in timed)
    total = sum(median.get((c.sampler.spec.id, c.steps, c.width, c.height), fallback) for c in todo)
    return total, len(timed)


def store_rows(output: Path) -> list[dict]:
    """The rows of an existing run folder, read only ([] when there is none)."""
    from bench.store import Store

    if not (output / "results.sqlite").is_file():
        return []
    store = Store.open(output, readonly=True)
    try:
        return list(store.rows())
    finally:
        store.close()


def dry_run_lines(config, yes: bool) -> list[str]:
    """What `bench run --dry-run` prints: the count, what is done already, an estimated time."""
    from bench.matrix import expand
    from bench.pngcheck import broken_images

    lines = [f"{config.name}: {describe_count(config)} -> {config.output}"]
    if cell_count(config) > MAX_CELLS and not yes:
        lines.append(
            f"more than {MAX_CELLS:,} cells: `bench run` refuses without --yes; finished cells "
            "are not counted (add --yes to count them)"
        )
        return lines
    cells = expand(config)
    rows = store_rows(config.output)
    ok = {r["cell_id"] for r in rows if r["status"] == "ok"}
    ok -= broken_images(ok, lambda cell_id: config.output / "images" / f"{cell_id}.png")  # as Store.image_path
    todo = [c for c in cells if c.id not in ok]
    lines.append(f"already done: {len(cells) - len(todo):,}; to run: {len(todo):,}")
    estimate = estimate_seconds(todo, rows)
    if not todo:
        lines.append("estimated time: nothing to run")
    elif estimate is None:
        lines.append("estimated time: unknown (no finished cells in the output folder to time from)")
    else:
        lines.append(
            f"estimated time: about {_clock(estimate[0])} of sampling, from {estimate[1]} timed "
            "cells in the output folder (model loading and warm-ups not included)"
        )
    return lines
