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
    from bench.executors import EXECUTORS  # names only: no torch, no ray

    parser.add_argument("--executor", choices=tuple(EXECUTORS),
                        help="where batches run (overrides the file's executor:); ray: one actor per GPU")
    parser.add_argument("--address", help="the Ray cluster: auto (the running one) or ray://host:10001 "
                                          "(default: start a local Ray); implies --executor ray")


def run(args: argparse.Namespace) -> int:
    from bench.config import load_config
    from bench.runner import run as run_benchmark
    from bench.store import load_results
    from bench.summary import summary_table

    config = load_config(args.config, output=args.output)
    if args.executor or args.address:
        from dataclasses import replace

        from bench.executors import with_command_line

        config = replace(config, executor=with_command_line(config.executor, args.executor, args.address))
    result = run_benchmark(config, force=args.force, argv=sys.argv, progress=not args.no_progress)
    print(f"{config.name}: {result.total} cells, {result.skipped} already done, {result.ran} run, "
          f"{result.failed} failed -> {result.run_dir}")
    print(summary_table(load_results(result.run_dir)))
    if not args.no_report:
        from bench.commands.report import build

        print(f"report: {build(result.run_dir)}")
    if result.failed:
        print(f"{result.failed} cell(s) failed; their errors are in {result.run_dir}/results.sqlite",
              file=sys.stderr)
    return 1 if result.failed else 0
