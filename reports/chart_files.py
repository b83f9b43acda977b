"""Charts into files: laid out once, drawn once per format (PNG for the page, SVG with text kept as text),
in forked worker processes when there are cores to spare. reports.charts says what each chart shows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

#: (name, plot, out_dir, run_dir): plot() gives the figure and the labelled series it drew
Job = tuple[str, Callable[[], tuple[Figure, tuple[str, ...]]], Path, Path]
#: (png, svg) relative to the run directory, and the series drawn
Drawn = tuple[str, str, tuple[str, ...]]

DPI = 110


def lay_out(fig: Figure, dpi: float) -> None:
    """Run the constrained layout once, at the PNG's dpi, then drop the engine. `savefig` with any layout
    engine set (even "none", a placeholder) draws the whole figure twice, a dry draw then the real one;
    laying out directly gives the same positions and halves the drawing of each PNG and SVG."""
    engine = fig.get_layout_engine()
    if engine is None:
        return
    fig.set_dpi(dpi)
    engine.execute(fig)
    fig.set_layout_engine(None)


def save(fig: Figure, out_dir: Path, run_dir: Path, name: str) -> tuple[str, str]:
    import matplotlib

    png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
    lay_out(fig, DPI)
    fig.savefig(png, dpi=DPI)  # the SVG keeps the same positions
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "samplerbench"}):
        fig.savefig(svg, metadata={"Date": None})
    return png.relative_to(run_dir).as_posix(), svg.relative_to(run_dir).as_posix()


_JOBS: list[Job] = []  # the jobs of the current draw_all call, shared with forked workers


def _draw(index: int) -> Drawn | None:
    name, plot, out_dir, run_dir = _JOBS[index]
    fig, series = plot()
    if not series:  # nothing measured (e.g. every cell failed): no empty axes in the report
        return None
    png, svg = save(fig, out_dir, run_dir, name)
    return png, svg, series


def draw_all(jobs: list[Job], workers: int) -> list[Drawn | None]:
    """Charts are independent: draw them in forked processes when there are several and cores to spare
    (matplotlib's drawing is pure Python and single-threaded; each chart costs about a second)."""
    import gc
    import multiprocessing
    import os

    global _JOBS
    _JOBS = jobs
    workers = min(workers, len(jobs), os.cpu_count() or 1)
    try:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            # the parent's objects out of the children's garbage collections, so a collection in a child
            # does not touch (and copy, page by page) the whole forked heap (~0.2 s CPU at 4,800 cells)
            gc.freeze()
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                return pool.map(_draw, range(len(jobs)), chunksize=1)
        return [_draw(i) for i in range(len(jobs))]
    finally:
        gc.unfreeze()
        _JOBS = []
