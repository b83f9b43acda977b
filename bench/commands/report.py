"""`bench report RUN_DIR`: grids, charts and report.html, from the store alone (no model, no GPU).

The store is read only, so a read-only run folder (a CI artifact) can be reported into another folder
with `-o`; a missing or broken PNG becomes a placeholder tile and a warning, never a failed report.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory written by `bench run`")
    parser.add_argument("-o", "--output", metavar="DIR",
                        help="write report.html, grids/ and charts/ here instead of RUN_DIR (which is only read)")


def _relink(frame, run_dir: Path, out_dir: Path):
    """Image paths relative to `out_dir`, so grids read and the page links the run's own PNGs."""
    if out_dir.resolve() == run_dir.resolve() or "image" not in frame:
        return frame
    frame = frame.copy()
    frame["image"] = frame["image"].map(
        lambda rel: rel if not isinstance(rel, str) else os.path.relpath(run_dir / rel, out_dir))
    return frame


def broken_image_count(frame, run_dir: Path) -> int:
    from bench.pngcheck import png_intact

    ok = frame[(frame["status"] == "ok") & frame["image"].map(lambda v: isinstance(v, str))] \
        if "image" in frame else frame.iloc[:0]
    return sum(not png_intact(run_dir / rel) for rel in ok["image"])


def build(run_dir: Path, out_dir: Path | None = None) -> Path:
    """Write report.html (and its grids/ and charts/) into `out_dir` (default RUN_DIR) from results.sqlite."""
    import reports
    from bench import record
    from bench.errors import UserError
    from bench.safe_write import check_writable_folder, os_error_message
    from bench.store import Store, results_frame

    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    store = Store.open(run_dir, readonly=True)
    try:
        frame, meta = results_frame(store), store.meta()
    finally:
        store.close()
    check_writable_folder(out_dir, "the report")
    broken = broken_image_count(frame, run_dir)
    if broken:
        print(f"warning: {broken} image(s) of finished cells are missing or broken; the report shows "
              "placeholders (`bench run` reruns those cells)", file=sys.stderr)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return reports.build_report(_relink(frame, run_dir, out_dir), meta, out_dir, record=record.for_reports())
    except reports.ReportError as exc:
        raise UserError(f"{run_dir}: cannot build a report: {exc}") from None
    except OSError as exc:
        raise UserError(os_error_message(exc, "the report", out_dir / "report.html")) from None


def run(args: argparse.Namespace) -> int:
    path = build(Path(args.run_dir), Path(args.output) if args.output else None)
    print(f"report: {path}")
    return 0
