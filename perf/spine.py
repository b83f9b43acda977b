"""Run-spine performance, measured side by side in one run (this machine is shared and noisy).

Prints:
  1. the default benchmark's wall time (`bench run benchmarks.yaml`, a fresh process; target < 60 s),
  2. harness time per cell / a bare loop calling the same k-diffusion sampler on the same model and
     noise (target <= 1.05): the slope between N and 2N cells, interleaved repeats, medians; the
     once-per-run cost (model build, environment, exports) is printed apart. Side by side: the harness
     as it runs (PNGs encoded on bench.cell_writer's thread) and with PNGs written inline on the main
     thread (as before that thread existed). Three clocks: wall time (what a user waits; noisy on a
     shared machine), the main thread's CPU time (the critical path: what the sampling waits for; not
     disturbed by other processes) and the process's CPU time (all the work, writer thread included);
     and, the steadiest figure, the main thread's CPU per cell over the CPU it spent inside the model
     session's batches (encode, sample, decode: the bare loop's work, measured in the harness itself),
  3. `bench --help` time (target < 0.5 s),
  4. a resumed, already-finished run / the first run (target < 0.05).
Usage: python perf/spine.py [--repeats 3] [--skip-default] [--size 64]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROMPTS = ["a red circle", "a blue square on yellow", "a green triangle on black", "a purple ring on white"]

HARNESS_CONFIG = """\
name: perf-spine
prompts: {prompts}
seeds: {seeds}
samplers: ["Euler", "DPM++ 2M Karras"]
steps: [20]
size: [{size}, {size}]
batch_size: 8
metrics: []
"""
BATCH = 8


def timed_process(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def bare_loop(model, prompts, seeds, sampler_names, steps, size) -> float:
    """The same work without the harness: encode, noise, CFG, k-diffusion sampler, decode."""
    import k_diffusion
    import torch

    from samplers.schedules import SCHEDULE_FUNCTIONS

    def run_batch(prompt: str, seeds: list[int]) -> None:
        cond = model.encode([prompt] * len(seeds))
        uncond = model.encode([""] * len(seeds))
        pair = model.concat_cond(uncond, cond)

        class Guided(torch.nn.Module):
            def forward(self, x, t):
                eu, ec = model.eps(torch.cat([x, x]), torch.cat([t, t]), pair).chunk(2)
                return eu + 7.0 * (ec - eu)

        denoiser = k_diffusion.external.DiscreteEpsDDPMDenoiser(Guided(), model.alphas_cumprod, False)
        noise = torch.stack([torch.randn((3, size, size), generator=torch.Generator().manual_seed(s)) for s in seeds])
        for name, schedule in sampler_names:
            sigmas = SCHEDULE_FUNCTIONS[schedule](
                steps, float(denoiser.sigma_min), float(denoiser.sigma_max), denoiser.sigmas
            )
            fn = getattr(k_diffusion.sampling, f"sample_{name}")
            with torch.inference_mode():
                model.decode(fn(denoiser, noise * sigmas[0], sigmas, disable=True))

    def run_once() -> None:
        for prompt in prompts:
            for start in range(0, len(seeds), BATCH):  # the harness's batches
                run_batch(prompt, seeds[start : start + BATCH])

    from bench.runner import torch_threads

    with torch_threads(getattr(model, "torch_threads", None)):  # as the harness runs it
        return clocked(run_once)


CLOCKS = ("wall", "main-thread CPU", "process CPU")


def clocked(fn) -> tuple[float, float, float]:
    """(wall, this thread's CPU, the process's CPU) seconds of fn()."""
    start = (time.perf_counter(), time.thread_time(), time.process_time())
    fn()
    end = (time.perf_counter(), time.thread_time(), time.process_time())
    return end[0] - start[0], end[1] - start[1], end[2] - start[2]


@contextlib.contextmanager
def inline_writes(enabled: bool):
    """PNGs written on the runner's thread (no writer thread): the harness as it was before it."""
    from bench import cell_writer, runner

    real = runner.CellWriter
    if enabled:
        runner.CellWriter = functools.partial(cell_writer.CellWriter, threaded=False)  # type: ignore[misc]
    try:
        yield
    finally:
        runner.CellWriter = real  # type: ignore[misc]


@contextlib.contextmanager
def sampling_clock(spent: list[float]):
    """Add the main thread's CPU seconds inside ModelSession.run_batch (encode, sample, decode) to spent."""
    from bench.session import ModelSession

    real = ModelSession.run_batch

    def timed(self, cells, repeats):
        start = time.thread_time()
        try:
            return real(self, cells, repeats)
        finally:
            spent[0] += time.thread_time() - start

    ModelSession.run_batch = timed  # type: ignore[method-assign]
    try:
        yield
    finally:
        ModelSession.run_batch = real  # type: ignore[method-assign]


def harness(config_path: Path, out: Path, inline: bool = False) -> tuple[float, float, float, float]:
    """(wall, main-thread CPU, process CPU, main-thread CPU inside the model session's batches)."""
    from bench.config import load_config
    from bench.runner import run

    shutil.rmtree(out, ignore_errors=True)
    config = load_config(config_path, output=out)
    inside = [0.0]
    with inline_writes(inline), sampling_clock(inside):
        return (*clocked(lambda: run(config, progress=False)), inside[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-default", action="store_true", help="skip the default benchmark timing")
    parser.add_argument("--size", type=int, default=64, help="image size of the per-cell comparison")
    args = parser.parse_args()
    bench_exe = [sys.executable, "-m", "bench.cli"]
    work = Path(tempfile.mkdtemp(prefix="perf-spine-"))
    rows: list[tuple[str, str, str]] = []

    if not args.skip_default:
        first = timed_process(bench_exe + ["run", "benchmarks.yaml", "-o", str(work / "default"), "--no-progress"])
        resumed = timed_process(
            bench_exe + ["run", "benchmarks.yaml", "-o", str(work / "default"), "--no-progress", "--no-report"]
        )
        rows.append(("default benchmark wall time", f"{first:.1f} s", "< 60 s"))
        rows.append(("resumed finished run / first run", f"{resumed / first:.3f} ({resumed:.2f} s)", "< 0.05"))

    helps = [timed_process(bench_exe + ["--help"]) for _ in range(5)]
    rows.append(("bench --help (median of 5)", f"{statistics.median(helps):.3f} s", "< 0.5 s"))

    import samplers
    from bench.models.loaders import analytic

    # Per-cell cost is the slope between a run of N cells and one of 2N cells (same batches, more of
    # them): once-per-run costs (model build, environment, exports) cancel out and are reported apart.
    model = analytic({})
    pairs = [("euler", "normal"), ("dpmpp_2m", "karras")]
    sizes = {"N": list(range(1, 9)), "2N": list(range(1, 17))}
    configs = {}
    for key, seeds in sizes.items():
        configs[key] = work / f"harness-{key}.yaml"
        configs[key].write_text(HARNESS_CONFIG.format(prompts=json.dumps(PROMPTS), seeds=seeds, size=args.size))
    samplers.prepare(samplers.resolve("Euler"))
    bare_loop(model, PROMPTS, sizes["N"], pairs, 20, args.size)  # warm-up, like the harness's own
    harness(configs["N"], work / "h-warm")
    kinds = {"bare": None, "harness": False, "harness, inline PNG writes": True}
    timings: dict[tuple[str, str], list[tuple[float, ...]]] = {(k, n): [] for k in kinds for n in sizes}
    for i in range(args.repeats):  # interleaved, so load changes hit every side alike
        for key, seeds in sizes.items():
            for kind, inline in kinds.items():
                if inline is None:
                    timings[kind, key].append(bare_loop(model, PROMPTS, seeds, pairs, 20, args.size))
                else:
                    timings[kind, key].append(harness(configs[key], work / f"h-{key}-{i}", inline))
    n = len(PROMPTS) * len(pairs) * len(sizes["N"])

    def median(kind: str, key: str, clock: int) -> float:
        return statistics.median(t[clock] for t in timings[kind, key])

    def per_cell(kind: str, clock: int) -> float:
        return (median(kind, "2N", clock) - median(kind, "N", clock)) / n

    for clock, clock_name in enumerate(CLOCKS):
        bare_cell = per_cell("bare", clock)
        for kind in ("harness", "harness, inline PNG writes"):
            rows.append(
                (
                    f"{kind} / bare, per cell, {clock_name}",
                    f"{per_cell(kind, clock) / bare_cell:.3f} (bare {bare_cell * 1e3:.1f} ms at {args.size}px)",
                    "<= 1.05" if kind == "harness" and clock < 2 else "-",
                )
            )
    for kind in ("harness", "harness, inline PNG writes"):
        inside = per_cell(kind, 3)  # the model session's own work per cell: the sampling, as the bare loop
        rows.append(
            (
                f"{kind}: main-thread CPU per cell / its sampling",
                f"{per_cell(kind, 1) / inside:.3f} (sampling {inside * 1e3:.1f} ms)",
                "<= 1.05" if kind == "harness" else "-",
            )
        )
    for kind in ("harness", "harness, inline PNG writes"):
        fixed = median(kind, "N", 0) - n * per_cell(kind, 0)
        rows.append(
            (
                f"{kind} / bare, whole run of N cells, wall",
                f"{median(kind, 'N', 0) / median('bare', 'N', 0):.3f} (fixed {fixed * 1e3:.0f} ms/run)",
                "-",
            )
        )

    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>28}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>28}  {target}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
