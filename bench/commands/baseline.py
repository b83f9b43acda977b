"""`bench baseline RUN_DIR -o baseline.json`: record a run as the reference `bench check` compares with."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.commands.check import add_tolerance_arguments

    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run directory to record")
    parser.add_argument(
        "-o",
        "--output",
        default="baseline.json",
        metavar="FILE",
        help="baseline file to write (default: baseline.json)",
    )
    add_tolerance_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from bench.check import build_gate, snapshot_run, to_document, write_baseline
    from bench.check.tolerances import DEFAULTS
    from bench.commands.check import cli_settings
    from bench.errors import UserError
    from bench.store import SCHEMA_VERSION, utc_now

    snapshot = snapshot_run(args.run_dir)
    if not any(c.status == "ok" for c in snapshot.cells.values()):
        raise UserError(f"{args.run_dir}: no finished cells to record; run the benchmark first")
    chosen = cli_settings(args)
    gate = build_gate([("command line", chosen), ("the run's check:", snapshot.tolerances)])
    settings = {**DEFAULTS, **snapshot.tolerances, **chosen}  # every setting in force, defaults included
    document = to_document(snapshot, settings, utc_now(), SCHEMA_VERSION)
    path = write_baseline(args.output, document)
    failed = sum(c.status != "ok" for c in snapshot.cells.values())
    print(f"baseline of run {snapshot.name!r}: {len(snapshot.cells)} cells -> {path}")
    print("tolerances in force: " + ", ".join(gate.describe()))
    if failed:
        print(f"note: {failed} cell(s) failed in this run; they are recorded as failed", file=sys.stderr)
    return 0
