"""`bench run CONFIG`: run a benchmark, resuming a previous run of the same output directory."""
from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="the benchmark YAML file")
    parser.add_argument("-o", "--output", help="run directory (overrides the file's output:)")
    parser.add_argument("--force", action="store_true", help="rerun cells that are already finished")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    parser.add_argument("--no-report", action="store_true", help="do not write report.html at the end")


def run(args: argparse.Namespace) -> int:
    from bench.config import load_config
    from bench.runner import run as run_benchmark
    from bench.store import load_results
    from bench.summary import summary_table

    config = load_config(args.config, output=args.output)
    result = run_benchmark(config, force=args.force, argv=sys.argv, progress=not args.no_progress)
    print(f"{config.name}: {result.total} cells, {result.skipped} already done, {result.ran} run, "
          f"{result.failed} failed -> {result.run_dir}")
    print(summary_table(load_results(result.run_dir)))
    if not args.no_report:
        from bench.commands.report import build

        path, rebuilt = build(result.run_dir, progress=not args.no_progress)
        print(f"report: {path}" if rebuilt else f"report is up to date: {path}")
    if result.failed:
        print(f"{result.failed} cell(s) failed; their errors are in {result.run_dir}/results.sqlite",
              file=sys.stderr)
    return 1 if result.failed else 0
