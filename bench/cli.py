"""`bench`: a thin CLI over callable commands (asv-style). Heavy modules load only inside commands.

Each command is a module in `bench.commands` with `add_arguments(parser)` and `run(args) -> int`.
A `UserError` anywhere prints one line and exits 2, never a traceback. The module itself imports only
`sys` (argparse and the commands load inside `main`, within its Ctrl-C handler), so an interrupt in the
first tenth of a second is one line too; only the interpreter's own start-up, before any of this code
runs, is out of reach.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

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
    "export": ("export", "one cell for ComfyUI (workflow), A1111 (infotext) or diffusers (a Python script)"),
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("samplerbench")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(prog="bench", description="Benchmark and compare diffusion samplers.")
    parser.add_argument("--version", action="version", version=f"samplerbench {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        command = importlib.import_module(f"bench.commands.{module}")
        command.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse, dispatch, and turn every way a command can end into one line and an exit status.

    UserError: its message, exit 2. Ctrl-C at any moment, imports included: one line, exit 130.
    A reader that goes away (`bench samplers | head`): exit 141 silently, as git and C tools do when
    SIGPIPE ends them (128 + 13), so `set -o pipefail` still sees the output was cut short.
    A damaged SQLite file or an OSError that reached the top (disk full, permissions): one line, exit 2.
    """
    command = "bench"
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        command = f"bench {args.command}"
        import importlib

        from samplers import kdiffusion_import

        kdiffusion_import.register()  # the bench process only: a library user's `import samplers` changes nothing
        module = importlib.import_module(f"bench.commands.{COMMANDS[args.command][0]}")
        status = module.run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the handlers, not at interpreter exit
        return status
    except KeyboardInterrupt:
        resume = "; finished cells are saved, run again to resume" if command == "bench run" else ""
        print(f"{command}: interrupted{resume}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except Exception as exc:
        message = _one_line_error(exc)
        if message is None:
            raise  # a bug: its traceback is what a bug report needs
        for line in message.splitlines() or [""]:  # several config errors: one line each
            print(f"{command}: error: {line}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)


def _one_line_error(exc: Exception) -> str | None:
    """The one-line message of an error the user or the machine caused; None for anything else (a bug)."""
    import sqlite3

    from bench.errors import UserError

    if isinstance(exc, UserError):
        return str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        return f"results database unusable: {exc}"
    if isinstance(exc, OSError) and exc.errno is not None:
        from bench.diskspace import os_error_line

        return os_error_line(exc)
    return None


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def entry() -> None:
    """The `bench` script: `main()`, then an exit that skips the interpreter's teardown of modules.

    Tearing down torch's modules allocates about 130 MB after the work is done (torch 2.14 CPU), so the
    peak RSS that /usr/bin/time or a CI container sees is that much above the run's own (perf/memory.py).
    The exit is the first atexit handler registered, so it runs last (handlers run in reverse order of
    registration): every other handler has run and the threads are joined before it; streams are flushed.
    Once `main()` has returned, its work is done and saved: Ctrl-C then ends the process at once with the
    command's status, instead of interrupting the teardown (joining threads) with a traceback.
    """
    import atexit
    import os
    import signal

    status = [1]  # a bug's traceback exits 1, as without this handler
    finished = [False]

    def exit_now() -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: main() has said so already
                pass
        os._exit(status[0])

    def on_ctrl_c(signum: int, frame: object) -> None:
        if finished[0]:
            exit_now()
        raise KeyboardInterrupt  # while a command works: main() makes it one line and exit 130

    atexit.register(exit_now)
    signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        status[0] = main()
    except SystemExit as exc:  # argparse: --help (0), a usage error (2)
        status[0] = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        raise
    except KeyboardInterrupt:  # after main()'s own handler returned, before its status was kept
        print("bench: interrupted", file=sys.stderr)
        status[0] = 130
    finally:
        finished[0] = True
    sys.exit(status[0])


if __name__ == "__main__":
    entry()
