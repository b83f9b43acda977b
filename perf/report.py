"""Report performance at scale, on a synthetic 5,000-cell run written through bench.store like a real one.

30 samplers x 5 step counts x 8 prompts x 4 seeds = 4,800 cells (+ failures), tiny PNGs with their
A1111 infotext, times that follow steps with noise and a slow first batch, exact-style metrics. Prints:
  1. `bench report RUN` wall time (a fresh process; target < 15 s on this machine), its progress lines,
  2. report.html's size and the time headless Chromium takes to load it (target < 3 s),
  3. `bench report RUN` again on the unchanged store / the first build (target < 0.05),
  4. a copy of report.html alone in an empty folder: images that failed to render (target 0).
Usage: python perf/report.py [--dir /tmp/perf-report] [--samplers 30] [--keep]
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


def synthetic_run(run_dir: Path, n_samplers: int) -> int:
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
        for steps in STEPS:
            for p, prompt in enumerate(PROMPTS):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--samplers", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the run folder")
    args = parser.parse_args()
    run_dir = args.dir or Path(tempfile.mkdtemp(prefix="perf-report-"))
    shutil.rmtree(run_dir, ignore_errors=True)
    start = time.perf_counter()
    cells = synthetic_run(run_dir, args.samplers)
    print(f"synthetic run: {cells} cells in {time.perf_counter() - start:.1f} s -> {run_dir}")
    command = [sys.executable, "-m", "bench.cli", "report", str(run_dir)]
    first, cpu, output = timed(command)
    print(output.strip())
    print(
        f"1. bench report, first build: {first:.2f} s wall, {cpu:.2f} s CPU (target < 15 s); load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    report = run_dir / "report.html"
    seconds, problems, broken = chromium_load(report)
    print(
        f"2. report.html: {report.stat().st_size / 2**20:.1f} MB; Chromium load: {seconds:.2f} s (target < 3 s); "
        f"console problems: {len(problems)}, images not rendered: {broken}"
    )
    again, _, output = timed(command)
    print(
        f"3. bench report on the unchanged store: {again:.2f} s = {again / first:.3f} of the first build "
        f"(target < 0.05): {output.strip()}"
    )
    with tempfile.TemporaryDirectory() as alone:
        copy = Path(alone) / "report.html"
        shutil.copy(report, copy)
        _, problems_alone, broken_alone = chromium_load(copy)
    print(
        f"4. report.html alone in an empty folder: {broken_alone} images not rendered, "
        f"{len(problems_alone)} console problems"
    )
    print(
        json.dumps(
            {
                "cells": cells,
                "first_s": round(first, 2),
                "first_cpu_s": round(cpu, 2),
                "chromium_load_s": round(seconds, 2),
                "size_mb": round(report.stat().st_size / 2**20, 2),
                "noop_ratio": round(again / first, 4),
                "broken_alone": broken_alone,
            }
        )
    )
    if not args.keep and args.dir is None:
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
