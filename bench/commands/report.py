"""`bench report RUN_DIR`: grids, charts and report.html, from the store alone (no model, no GPU)."""
from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory written by `bench run`")


def build(run_dir: Path) -> Path:
    """Write run_dir/report.html (and its grids/ and charts/) from results.sqlite."""
    import reports
    from bench import record
    from bench.errors import UserError
    from bench.store import Store, results_frame

    store = Store.open(run_dir, create=False)
    try:
        frame, meta = results_frame(store), store.meta()
    finally:
        store.close()
    try:
        return reports.build_report(frame, meta, Path(run_dir), record=record.for_reports())
    except reports.ReportError as exc:
        raise UserError(f"{run_dir}: cannot build a report: {exc}") from None


def run(args: argparse.Namespace) -> int:
    path = build(Path(args.run_dir))
    print(f"report: {path}")
    return 0
