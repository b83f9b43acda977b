"""`bench check RUN_DIR --baseline FILE`: exit 0 within tolerance, 1 on a regression, 2 on unusable input."""

from __future__ import annotations

import argparse
from typing import Any

#: check-section key -> command-line flag, so errors name what the user typed
FLAGS = {
    "time": "--time-tolerance",
    "memory": "--memory-tolerance",
    "quality": "--quality-tolerance",
    "drift": "--drift-tolerance",
    "normalise": "--normalise",
    "strict": "--strict",
    "alpha": "--alpha",
}


def add_tolerance_arguments(parser: argparse.ArgumentParser) -> None:
    """The tolerance flags shared by `bench check` and `bench baseline` (CLI > run's check: > baseline)."""
    group = parser.add_argument_group("tolerances ('10%' relative, 0.02 absolute, 'off' to skip)")
    group.add_argument(
        "--time-tolerance",
        metavar="T",
        help="median sampling time per image (default 10%%); a regression must also exceed the run's noise",
    )
    group.add_argument("--memory-tolerance", metavar="T", help="peak memory (default 5%%)")
    group.add_argument(
        "--quality-tolerance",
        metavar="[METRIC=]T",
        action="append",
        help="quality metrics, each in its better direction (default 5%%); repeat with METRIC=T for one metric",
    )
    group.add_argument(
        "--drift-tolerance", metavar="T", help="RMS distance between image fingerprints, latent units (default 0.0001)"
    )
    group.add_argument(
        "--normalise",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="divide times by the machine factor (median time ratio over all workloads)",
    )
    group.add_argument(
        "--strict",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="environment differences do not turn time/memory failures into warnings",
    )
    group.add_argument("--alpha", type=float, metavar="A", help="significance of the noise test (default 0.01)")


def cli_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The tolerance flags given, as flat check settings (UserError naming the flag when one is bad)."""
    from bench.check.tolerances import parse_section
    from bench.errors import UserError

    section: dict[str, Any] = {}
    for key in ("time", "memory", "drift"):
        if getattr(args, f"{key}_tolerance") is not None:
            section[key] = getattr(args, f"{key}_tolerance")
    for key in ("normalise", "strict", "alpha"):
        if getattr(args, key) is not None:
            section[key] = getattr(args, key)
    quality: dict[str, str] = {}
    for item in args.quality_tolerance or ():
        metric, sep, value = item.rpartition("=")
        quality[metric.strip() if sep else "default"] = value
    if quality:
        section["quality"] = quality

    def fail(path: tuple, message: str) -> UserError:
        metric = f" {path[1]}=" if len(path) > 1 and path[1] != "default" else ""
        return UserError(f"{FLAGS.get(path[0], path[0])}{metric}: {message}")

    return parse_section(section, fail)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run directory to check")
    parser.add_argument("--baseline", required=True, metavar="FILE", help="baseline file (bench baseline)")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML (one test case per cell)")
    parser.add_argument(
        "--markdown", metavar="FILE", help="also write a markdown summary (e.g. for $GITHUB_STEP_SUMMARY)"
    )
    add_tolerance_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from bench.check import build_gate, compare, read_baseline, snapshot_run
    from bench.check.junit import write_junit
    from bench.check.markdown import format_markdown
    from bench.check.text import format_report

    baseline = read_baseline(args.baseline)
    current = snapshot_run(args.run_dir)
    gate = build_gate(
        [
            ("command line", cli_settings(args)),
            ("the run's check:", current.tolerances),
            ("baseline", baseline.tolerances),
        ]
    )
    report = compare(baseline, current, gate)
    print(format_report(report))
    if args.junit:
        print(f"JUnit XML -> {write_junit(report, args.junit)}")
    if args.markdown:
        from bench.safe_write import write_text

        print(f"markdown summary -> {write_text(args.markdown, format_markdown(report), 'the markdown summary')}")
    return report.exit_code
