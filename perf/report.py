"""Report performance at scale, on synthetic runs written through bench.store like real ones.

Two cases: the default benchmark's shape (16 samplers x 4 step counts x 4 prompts x 4 seeds = 1,024
cells) and a large one (30 samplers x 5 step counts x 8 prompts x 4 seeds = 4,800 cells, + failures):
tiny PNGs with their A1111 infotext, times that follow steps with noise and a slow first batch,
exact-style metrics. Prints, for each case:
  1. `bench report RUN` in a fresh process: wall and CPU seconds side by side (CPU = user + system of
     the process and its chart workers: the robust figure on a shared machine; target < 15 s wall at
     5,000 cells), and the progress lines of the large case,
  2. report.html's size and the time headless Chromium takes to load it (target < 3 s),
  3. `bench report RUN` again on the unchanged store / the first build (target < 0.05),
  4. a copy of report.html alone in an empty folder: images that failed to render (target 0).
`--repeats N` rebuilds N times (`--force`) and gives the fastest and the median: on a loaded machine
the fastest CPU figure is the one to compare.
Usage: python perf/report.py [--dir /tmp/perf-report] [--samplers 30] [--cases default,large]
       [--repeats 1] [--no-browser] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

PROMPTS = [
    "a red circle",
    "a blue square",
    "a green triangle",
    "a purple ring",
    "a yellow cross on black",
    "an orange disc on white",
    "a cyan bar",
    "<script>alert('x')</script> a grey dot",
]
SEEDS = [1, 2, 3, 4]
STEPS = [5, 10, 20, 30, 40]
FAMILIES = ("k", "diffusers")
#: name -> (samplers, step counts, prompts): the default benchmark's shape and the large run
CASES: dict[str, tuple[int, list[int], list[str]]] = {
    "default": (16, [5, 10, 20, 40], PROMPTS[:4]),
    "large": (30, STEPS, PROMPTS),
}


def synthetic_run(run_dir: Path, n_samplers: int, steps_list: list[int] = STEPS, prompts: list[str] = PROMPTS) -> int:
    """Write the store and images; returns the number of cells."""
    import numpy as np

    from bench.infotext import Infotext, format_infotext
    from bench.pnginfo import write_png
    from bench.store import Store

    rng = random.Random(0)
    store = Store.open(run_dir)
    store.set_meta("name", f"perf-report {n_samplers} samplers")
    store.set_meta("created", "2026-11-30T00:00:00+00:00")
    store.set_meta("report", {"objective": "ode_error", "constraints": {"alignment": ">= 0.5"}})
    run_id = store.begin_run(["perf/report.py"], {"device": "cpu", "python": sys.version.split()[0]})
    (run_dir / "images").mkdir(exist_ok=True)
    count = 0
    for s in range(n_samplers):
        family = FAMILIES[s % 3 == 0]
        name, order, per_step = f"Sampler {s:02d}", 1 + s % 3, 0.001 * (1 + (s * 7) % 11)
        for steps in steps_list:
            for p, prompt in enumerate(prompts):
                for seed in SEEDS:
                    count += 1
                    cell_id = f"{s:03d}{steps:03d}{p:02d}{seed:02d}".ljust(16, "0")
                    failed = (s * 31 + steps + p + seed) % 97 == 0
                    image = f"images/{cell_id}.png"
                    t = per_step * steps * (1.6 if p == 0 and seed == 1 else 1.0) * rng.uniform(0.9, 1.15)
                    row = {
                        "cell_id": cell_id,
                        "status": "failed" if failed else "ok",
                        "error": "RuntimeError: NaN <b>in</b> latents" if failed else None,
                        "model": "analytic",
                        "prompt": prompt,
                        "negative_prompt": "",
                        "size": "16x16",
                        "width": 16,
                        "height": 16,
                        "clip_skip": 1,
                        "cfg_scale": 7.0,
                        "sampler": name,
                        "sampler_id": f"{family}:algo{s}/normal",
                        "family": family,
                        "algorithm": f"algo{s}",
                        "schedule": "normal",
                        "stochastic": s % 5 == 4,
                        "sampler_options": None,
                        "steps": steps,
                        "seed": seed,
                        "batch_size": 4,
                        "run_id": run_id,
                    }
                    if not failed:
                        err = 2.0 * steps**-order * rng.uniform(0.8, 1.2)
                        pixels = np.full((16, 16, 3), (s * 8) % 256, dtype=np.uint8)
                        pixels[4:12, 4:12] = (255, (p * 30) % 256, seed * 50)
                        fields = {"Steps": steps, "Sampler": name, "Seed": seed, "CFG scale": 7}
                        write_png(run_dir / image, pixels, format_infotext(Infotext(prompt, "", fields)))
                        row.update(
                            nfe=steps * (1 + s % 2),
                            sample_s=t,
                            total_s=t + 0.0001,
                            sample_s_repeats=[t],
                            peak_mem_bytes=800_000_000,
                            peak_mem_kind="cpu_peak_rss_process",
                            image=image,
                            metrics={"ode_error": err, "alignment": max(0.0, 1 - err), "fidelity": 1 + err / 2},
                        )
                    store.write_cell(row)
    store.end_run(run_id)
    store.close()
    return count


def timed(args: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process and its children, output) of one fresh process."""
    import resource

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stdout + done.stderr


def chromium_load(report: Path) -> tuple[float, list[str], int]:
    """(seconds to the load event, console problems, images that did not render) in headless Chromium."""
    from reports_browser import CHROMIUM, Browser

    if not CHROMIUM.exists():
        return math.nan, [f"{CHROMIUM} not installed"], -1
    with Browser(timeout=60) as browser:
        browser.viewport(1280, 1600)
        start = time.perf_counter()
        browser.load(report.as_uri())
        seconds = time.perf_counter() - start
        broken = browser.evaluate(
            "Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0"
            " && i.getAttribute('src')).length"
        )
        return seconds, browser.problems(), int(broken)


def _builds(command: list[str], repeats: int) -> tuple[list[tuple[float, float]], str]:
    """[(wall, CPU)] of the first build and of `repeats - 1` forced rebuilds; the first build's output."""
    first_wall, first_cpu, output = timed(command)
    runs = [(first_wall, first_cpu)] + [timed([*command, "--force"])[:2] for _ in range(repeats - 1)]
    return runs, output


def _figures(runs: list[tuple[float, float]]) -> str:
    walls, cpus = sorted(w for w, _ in runs), sorted(c for _, c in runs)
    if len(runs) == 1:
        return f"{walls[0]:6.2f} s wall  {cpus[0]:6.2f} s CPU"
    mid = len(runs) // 2
    return (
        f"{walls[0]:6.2f} s wall  {cpus[0]:6.2f} s CPU (fastest of {len(runs)}; "
        f"median {walls[mid]:.2f} s wall, {cpus[mid]:.2f} s CPU)"
    )


def measure(case: str, run_dir: Path, n_samplers: int, repeats: int, browser: bool) -> dict:
    """Steps 1-4 on one case; prints as it goes, returns the figures."""
    _, steps_list, prompts = CASES[case]
    shutil.rmtree(run_dir, ignore_errors=True)
    start = time.perf_counter()
    cells = synthetic_run(run_dir, n_samplers, steps_list, prompts)
    print(f"[{case}] synthetic run: {cells} cells in {time.perf_counter() - start:.1f} s -> {run_dir}")
    command = [sys.executable, "-m", "bench.cli", "report", str(run_dir)]
    runs, output = _builds(command, repeats)
    if case == "large":
        print(output.strip())
    print(
        f"[{case}] 1. bench report, {cells} cells: {_figures(runs)} (target < 15 s wall at 5,000 cells); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    report = run_dir / "report.html"
    seconds, problems, broken = chromium_load(report) if browser else (math.nan, [], -1)
    print(
        f"[{case}] 2. report.html: {report.stat().st_size / 2**20:.1f} MB; Chromium load: {seconds:.2f} s "
        f"(target < 3 s); console problems: {len(problems)}, images not rendered: {broken}"
    )
    again, _, output = timed(command)
    first = runs[0][0]
    print(
        f"[{case}] 3. bench report on the unchanged store: {again:.2f} s = {again / first:.3f} of the first "
        f"build (target < 0.05): {output.strip()}"
    )
    broken_alone = -1
    if browser:
        with tempfile.TemporaryDirectory() as alone:
            copy = Path(alone) / "report.html"
            shutil.copy(report, copy)
            _, problems_alone, broken_alone = chromium_load(copy)
        print(
            f"[{case}] 4. report.html alone in an empty folder: {broken_alone} images not rendered, "
            f"{len(problems_alone)} console problems"
        )
    return {
        "case": case,
        "cells": cells,
        "first_s": round(first, 2),
        "first_cpu_s": round(runs[0][1], 2),
        "best_s": round(min(w for w, _ in runs), 2),
        "best_cpu_s": round(min(c for _, c in runs), 2),
        "chromium_load_s": round(seconds, 2),
        "size_mb": round(report.stat().st_size / 2**20, 2),
        "noop_ratio": round(again / first, 4),
        "broken_alone": broken_alone,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=None, help="parent folder of the run folders")
    parser.add_argument("--samplers", type=int, default=30, help="samplers of the large case")
    parser.add_argument("--cases", default="default,large", help=f"comma-separated, among {', '.join(CASES)}")
    parser.add_argument("--repeats", type=int, default=1, help="builds per case (the first, then --force)")
    parser.add_argument("--no-browser", action="store_true", help="skip the headless Chromium steps")
    parser.add_argument("--keep", action="store_true", help="keep the run folders")
    args = parser.parse_args()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown or args.repeats < 1:
        parser.error(f"unknown case(s) {', '.join(unknown)}" if unknown else "--repeats must be at least 1")
    parent = args.dir or Path(tempfile.mkdtemp(prefix="perf-report-"))
    results = []
    for case in cases:
        samplers = args.samplers if case == "large" else CASES[case][0]
        results.append(measure(case, parent / case, samplers, args.repeats, not args.no_browser))
    print("\nbench report, first build (fresh process; CPU = the process and its chart workers):")
    print(f"  {'case':8} {'cells':>6} {'wall s':>7} {'CPU s':>7}")
    for r in results:
        print(f"  {r['case']:8} {r['cells']:>6} {r['first_s']:>7.2f} {r['first_cpu_s']:>7.2f}")
    print(json.dumps(results))
    if not args.keep:
        for case in cases:
            shutil.rmtree(parent / case, ignore_errors=True)
        if args.dir is None:
            shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    main()
