"""`bench run CONFIG`: run a benchmark, resuming a previous run of the same output directory."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from bench.executors import EXECUTORS  # names only: no torch, no ray
    from bench.plan import MAX_CELLS

    parser.add_argument("config", help="the benchmark YAML file")
    parser.add_argument("-o", "--output", help="run directory (overrides the file's output:)")
    parser.add_argument("--force", action="store_true", help="rerun cells that are already finished")
    parser.add_argument("--no-progress", action="store_true", help="no progress line")
    parser.add_argument("--no-report", action="store_true", help="do not write report.html at the end")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the cell count, how many are done already and an estimated time; run nothing",
    )
    parser.add_argument("--yes", action="store_true", help=f"run a matrix of more than {MAX_CELLS:,} cells")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="if another `bench run` is using the output folder, wait for it instead of refusing",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="never touch the network: weights from the local cache only (as HF_HUB_OFFLINE=1)",
    )
    parser.add_argument(
        "--executor",
        choices=tuple(EXECUTORS),
        help="where batches run (overrides the file's executor:); ray: one actor per GPU",
    )
    parser.add_argument(
        "--address",
        help="the Ray cluster: auto (the running one) or ray://host:10001 "
        "(default: start a local Ray); implies --executor ray",
    )


def _warn(lines: list[str]) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from bench.config import load_config
    from bench.plan import check_size, dry_run_lines

    config = load_config(args.config, output=args.output)
    if args.executor or args.address:
        from bench.executors import with_command_line

        config = replace(config, executor=with_command_line(config.executor, args.executor, args.address))
    if args.offline:  # metrics read it from the config; huggingface_hub (SD loading) from the environment
        os.environ["HF_HUB_OFFLINE"] = "1"
        config = replace(config, offline=True)
    if args.dry_run:
        print("\n".join(dry_run_lines(config, args.yes)))
        return 0
    check_size(config, args.yes)
    return _run(config, args)


def _run(config, args: argparse.Namespace) -> int:
    from bench.failures import failure_lines
    from bench.lock import run_lock, writer_active
    from bench.matrix import expand
    from bench.runner import run as run_benchmark
    from bench.safe_write import check_writable_folder
    from bench.setting_warnings import resume_warnings, setting_warnings
    from bench.store import load_results
    from bench.summary import summary_table

    check_writable_folder(config.output, "the run")
    cells = expand(config)
    # a damaged store is refused before anything writes; a busy one is not read until its run ends
    rows = None if writer_active(config.output) else _stored_rows(config.output)
    with run_lock(config.output, wait=args.wait), disk_full_said(config, cells):
        rows = _stored_rows(config.output) if rows is None else rows
        _warn(setting_warnings(config) + resume_warnings(config, rows, {c.id for c in cells}))
        result = run_benchmark(config, force=args.force, argv=sys.argv, progress=not args.no_progress)
    print(
        f"{config.name}: {result.total} cells, {result.skipped} already done, {result.ran} run, "
        f"{result.failed} failed -> {result.run_dir}"
    )
    frame = load_results(result.run_dir)
    print(summary_table(frame))
    if not args.no_report:
        from bench.commands.report import build

        path, rebuilt = build(result.run_dir, progress=not args.no_progress)
        print(f"report: {path}" if rebuilt else f"report is up to date: {path}")
    if result.failed:
        ids = {c.id for c in cells}
        rows = [r for r in frame.to_dict("records") if r["cell_id"] in ids]
        print("\n".join(failure_lines(rows)), file=sys.stderr)
        print(f"their full errors are in {result.run_dir}/results.sqlite (bench.load_results)", file=sys.stderr)
    return 1 if result.failed else 0


@contextmanager
def disk_full_said(config, cells) -> Iterator[None]:
    """Turn a full disk (OSError ENOSPC, or a write already turned into a UserError) into one line naming
    the run folder, its free space and about what the unfinished cells need."""
    import sqlite3

    from bench.errors import UserError

    try:
        yield
    except (OSError, UserError, sqlite3.OperationalError) as exc:
        if not _disk_full(exc):
            raise
        from bench.diskspace import disk_full_line, needed_bytes
        from bench.plan import store_rows

        done = {r["cell_id"] for r in store_rows(config.output) if r["status"] == "ok"}
        left = sum(c.id not in done for c in cells)
        width, height = max(config.sizes, key=lambda s: s[0] * s[1])
        raise UserError(disk_full_line(config.output, needed_bytes(config.output, left, width, height))) from None


def _disk_full(exc: BaseException) -> bool:
    """ENOSPC from the OS (or kept on a UserError by bench.safe_write), or SQLite's SQLITE_FULL."""
    code = getattr(exc, "errno", None) or getattr(exc, "os_errno", None)
    return code == errno.ENOSPC or getattr(exc, "sqlite_errorcode", None) == 13 or "disk is full" in str(exc)


def _stored_rows(output) -> list[dict]:
    """The rows already in the output folder, for the resume warnings. A damaged store is refused here,
    before anything opens it for writing; an older release's store is read through a migrated copy."""
    from bench.plan import store_rows

    return store_rows(output)
