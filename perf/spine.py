"""Run-spine performance, measured side by side in one run (this machine is shared and noisy).

Prints:
  1. the default benchmark's wall time (`bench run benchmarks.yaml`, a fresh process; target < 60 s),
  2. harness wall time per cell / a bare loop calling the same k-diffusion sampler on the same model and
     noise (target <= 1.05): the slope between N and 2N cells, interleaved repeats, medians; the
     once-per-run cost (model build, environment, exports) is printed apart,
  3. `bench --help` time (target < 0.5 s),
  4. a resumed, already-finished run / the first run (target < 0.05).
Usage: python perf/spine.py [--repeats 3] [--skip-default] [--size 64]
"""

from __future__ import annotations

import argparse
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
        start = time.perf_counter()
        run_once()
        return time.perf_counter() - start


def harness(config_path: Path, out: Path) -> float:
    from bench.config import load_config
    from bench.runner import run

    shutil.rmtree(out, ignore_errors=True)
    config = load_config(config_path, output=out)
    start = time.perf_counter()
    run(config, progress=False)
    return time.perf_counter() - start


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
    timings: dict[str, list[float]] = {f"{kind}-{key}": [] for kind in ("bare", "harness") for key in sizes}
    for i in range(args.repeats):  # interleaved, so load changes hit both sides alike
        for key, seeds in sizes.items():
            timings[f"bare-{key}"].append(bare_loop(model, PROMPTS, seeds, pairs, 20, args.size))
            timings[f"harness-{key}"].append(harness(configs[key], work / f"h-{key}-{i}"))
    med = {k: statistics.median(v) for k, v in timings.items()}
    n = len(PROMPTS) * len(pairs) * len(sizes["N"])
    bare_cell = (med["bare-2N"] - med["bare-N"]) / n
    harness_cell = (med["harness-2N"] - med["harness-N"]) / n
    rows.append(
        (
            "harness / bare loop, time per cell (slope)",
            f"{harness_cell / bare_cell:.3f} (bare {bare_cell * 1e3:.1f} ms at {args.size}px)",
            "<= 1.05",
        )
    )
    rows.append(
        (
            "harness / bare loop, whole run of N cells",
            f"{med['harness-N'] / med['bare-N']:.3f} (fixed {(med['harness-N'] - n * harness_cell) * 1e3:.0f} ms/run)",
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
