"""Peak memory and start-up of the default benchmark, next to the floor that `import torch` sets.

    python perf/memory.py [--before GIT_REF] [--no-report] [--config benchmarks.yaml]

Each figure is one fresh process: its peak resident set when its work is done (its own ru_maxrss, read
just before it exits), its peak over its whole life measured from outside (ru_maxrss of that child, from
os.wait4: the interpreter's teardown of torch's modules adds ~130 MB after the work, on torch 2.14 CPU,
which the `bench` script (bench.cli.entry) skips; the floors show it),
its wall time, and the time from its start to the first cell committed in results.sqlite (polled
read-only every 20 ms). `--before REF` runs the same benchmark from `git archive
REF` too, side by side in this one invocation. The floors are what any run of the analytic model pays
before its first cell: the interpreter with torch, and torch with torch._dynamo (which diffusers'
schedulers import: the default benchmark's DDIM, PLMS and UniPC are diffusers schedulers).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


#: runs `code` (argv after it: sys.argv[1:]), then writes its own peak RSS (KiB) to $MEMORY_OUT
PROBE = """import os, resource, sys
status = 0
try:
    {code}
finally:
    with open(os.environ["MEMORY_OUT"], "w") as out:
        out.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(status)
"""


def probe(code: str) -> list[str]:
    return [sys.executable, "-W", "ignore", "-c", PROBE.format(code=code)]


def measure(args: list[str], cwd: Path, pythonpath: Path, store: Path | None = None) -> dict[str, float]:
    """{work_mb, peak_mb, wall_s, first_cell_s} of one child (first_cell_s only when `store` is given)."""
    report = Path(tempfile.mkstemp(prefix="perf-memory-")[1])
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "PYTHONWARNINGS": "ignore", "MEMORY_OUT": str(report)}
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = float("nan")
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if store is not None and first != first and _has_a_cell(store):
            first = time.perf_counter() - start
        time.sleep(0.02)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
    work = int(report.read_text() or 0) / 1024
    report.unlink()
    return {"work_mb": work, "peak_mb": usage.ru_maxrss / 1024, "wall_s": wall, "first_cell_s": first}


def _has_a_cell(store: Path) -> bool:
    if not store.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.1) as db:
            return bool(db.execute("SELECT COUNT(*) FROM cells").fetchone()[0])
    except sqlite3.Error:
        return False


def export_ref(ref: str, into: Path) -> Path:
    """The project's files at `ref` (git archive: no worktree, nothing of this checkout touched)."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", metavar="GIT_REF", help="also run the benchmark from this commit")
    parser.add_argument("--no-report", action="store_true", help="run with --no-report (no HTML report built)")
    parser.add_argument("--config", default="benchmarks.yaml")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="perf-memory-"))
    rows = [
        ("floor: import torch", measure(probe("import torch"), ROOT, ROOT)),
        ("floor: import torch, torch._dynamo", measure(probe("import torch, torch._dynamo"), ROOT, ROOT)),
    ]
    trees = {"this checkout": ROOT}
    if args.before:
        trees = {f"at {args.before}": export_ref(args.before, work / "before"), **trees}
    for label, tree in trees.items():
        out = work / label.replace(" ", "-")
        # as the bench script runs it (older trees: main(), with the interpreter's teardown)
        script = "import bench.cli as c; sys.argv[0] = 'bench'; getattr(c, 'entry', lambda: sys.exit(c.main()))()"
        command = probe(script)
        command += ["run", str(ROOT / args.config), "-o", str(out), "--no-progress"]
        command += ["--no-report"] if args.no_report else []
        rows.append((f"bench run {args.config}, {label}", measure(command, tree, tree, out / "results.sqlite")))

    width = max(len(name) for name, _ in rows)
    print(f"{'process'.ljust(width)}  {'peak, work':>10}  {'peak, life':>10}  {'wall':>8}  {'1st cell':>8}")
    for name, m in rows:
        first = "-" if m["first_cell_s"] != m["first_cell_s"] else f"{m['first_cell_s']:.1f} s"
        print(f"{name.ljust(width)}  {m['work_mb']:7.0f} MB  {m['peak_mb']:7.0f} MB  {m['wall_s']:6.1f} s  {first:>8}")


if __name__ == "__main__":
    main()
