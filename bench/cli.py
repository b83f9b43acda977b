"""`bench`: a thin CLI over callable commands (asv-style). Heavy modules load only inside commands.

Each command is a module in `bench.commands` with `add_arguments(parser)` and `run(args) -> int`.
A `UserError` anywhere prints one line and exits 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: command -> (module in bench.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run a benchmark file (resumes: finished cells are skipped)"),
    "report": ("report", "write RUN_DIR/report.html with grids and charts from a run's results"),
    "grid": ("grid", "draw one X/Y grid of a run's images on any two axes as one full-resolution PNG"),
    "compare": ("compare", "two runs side by side: images A | B | difference, time and metric deltas"),
    "schema": ("schema", "print the JSON Schema of the benchmark file format"),
    "samplers": ("samplers", "list every sampler with its names (--check: run each on the analytic model)"),
    "agree": ("agree", "how far k-diffusion and diffusers are apart on the same algorithms"),
    "baseline": ("baseline", "record a run as the baseline file that `bench check` compares with"),
    "check": ("check", "compare a run with a baseline: exit 1 on a regression beyond tolerances"),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("samplerbench")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description="Benchmark and compare diffusion samplers.")
    parser.add_argument("--version", action="version", version=f"samplerbench {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = importlib.import_module(f"bench.commands.{module}")
        command.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    from bench.errors import UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        module = importlib.import_module(f"bench.commands.{COMMANDS[args.command][0]}")
        return module.run(args)
    except UserError as exc:
        for line in str(exc).splitlines() or [""]:  # several config errors: one line each
            print(f"bench {args.command}: error: {line}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("bench: interrupted; finished cells are saved, run again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
