"""`bench compare RUN_A RUN_B [-o DIR] [--match sampler,steps,seed,prompt]`: two runs side by side.

Writes DIR/compare.html (self-contained) and DIR/compare.md (for a pull-request comment).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_a", help="run directory A (the reference)")
    parser.add_argument("run_b", help="run directory B (the candidate)")
    parser.add_argument("-o", "--output", default="compare", help="folder for compare.html and compare.md")
    parser.add_argument(
        "--match",
        default=None,
        metavar="AXES",
        help="match cells by these columns (comma-separated, e.g. sampler,steps,seed,prompt) instead of by cell id",
    )


def run(args: argparse.Namespace) -> int:
    from bench import record
    from bench.errors import UserError
    from bench.store import Store, results_frame
    from reports.compare import compare_runs

    frames, names = [], []
    for run_dir in (args.run_a, args.run_b):
        store = Store.open(run_dir, create=False)
        try:
            frames.append(results_frame(store))
            names.append(f"{store.get_meta('name', Path(run_dir).name)} ({run_dir})")
        finally:
            store.close()
    keys = [k.strip() for k in args.match.split(",") if k.strip()] if args.match else None
    known = [c.name for c in record.columns()]
    for key in keys or []:
        if key not in known:
            raise UserError(f"--match {key}: not a cell column; use axes such as sampler, steps, seed, prompt")
    if any(f.empty for f in frames):
        raise UserError("a run has no cells: nothing to compare")
    html, md = compare_runs(
        frames[0],
        frames[1],
        (names[0], names[1]),
        (Path(args.run_a), Path(args.run_b)),
        Path(args.output),
        record.for_reports(),
        keys,
    )
    print(f"compare: {html}\ncompare: {md}")
    return 0
