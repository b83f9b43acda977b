"""Run-spine performance, measured side by side in one run (this machine is shared and noisy).

Prints:
  1. the default benchmark's wall time (`bench run benchmarks.yaml`, a fresh process; target < 60 s),
  2. harness wall time per cell / a bare loop calling the same k-diffusion sampler on the same model and
     noise (target <= 1.05), interleaved repeats, medians,
  3. `bench --help` time (target < 0.5 s),
  4. a resumed, already-finished run / the first run (target < 0.05).
Usage: python perf/spine.py [--repeats 3] [--skip-default]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

HARNESS_CONFIG = """\
name: perf-spine
prompts: ["a red circle", "a blue square on yellow", "a green triangle on black", "a purple ring on white"]
seeds: [1, 2, 3, 4, 5, 6, 7, 8]
samplers: ["Euler", "DPM++ 2M Karras"]
steps: [20]
size: [32, 32]
batch_size: 8
metrics: []
"""


def timed_process(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def bare_loop(model, prompts, seeds, sampler_names, steps) -> float:
    """The same work without the harness: encode, noise, CFG, k-diffusion sampler, decode."""
    import k_diffusion
    import torch

    from samplers.schedules import SCHEDULE_FUNCTIONS

    def run_once() -> None:
        for prompt in prompts:
            cond = model.encode([prompt] * len(seeds))
            uncond = model.encode([""] * len(seeds))
            pair = model.concat_cond(uncond, cond)

            class Guided(torch.nn.Module):
                def forward(self, x, t):
                    eu, ec = model.eps(torch.cat([x, x]), torch.cat([t, t]), pair).chunk(2)
                    return eu + 7.0 * (ec - eu)

            denoiser = k_diffusion.external.DiscreteEpsDDPMDenoiser(Guided(), model.alphas_cumprod, False)
            noise = torch.stack([torch.randn((3, 32, 32), generator=torch.Generator().manual_seed(s))
                                 for s in seeds])
            for name, schedule in sampler_names:
                sigmas = SCHEDULE_FUNCTIONS[schedule](steps, float(denoiser.sigma_min),
                                                      float(denoiser.sigma_max), denoiser.sigmas)
                fn = getattr(k_diffusion.sampling, f"sample_{name}")
                with torch.inference_mode():
                    model.decode(fn(denoiser, noise * sigmas[0], sigmas, disable=True))

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
    args = parser.parse_args()
    bench_exe = [sys.executable, "-m", "bench.cli"]
    work = Path(tempfile.mkdtemp(prefix="perf-spine-"))
    rows: list[tuple[str, str, str]] = []

    if not args.skip_default:
        first = timed_process(bench_exe + ["run", "benchmarks.yaml", "-o", str(work / "default"),
                                           "--no-progress"])
        resumed = timed_process(bench_exe + ["run", "benchmarks.yaml", "-o", str(work / "default"),
                                             "--no-progress", "--no-report"])
        rows.append(("default benchmark wall time", f"{first:.1f} s", "< 60 s"))
        rows.append(("resumed finished run / first run", f"{resumed / first:.3f} ({resumed:.2f} s)", "< 0.05"))

    helps = [timed_process(bench_exe + ["--help"]) for _ in range(5)]
    rows.append(("bench --help (median of 5)", f"{statistics.median(helps):.3f} s", "< 0.5 s"))

    from bench.models.loaders import analytic
    import samplers

    config_path = work / "harness.yaml"
    config_path.write_text(HARNESS_CONFIG)
    model = analytic({})
    prompts = ["a red circle", "a blue square on yellow", "a green triangle on black", "a purple ring on white"]
    seeds = list(range(1, 9))
    pairs = [("euler", "normal"), ("dpmpp_2m", "karras")]
    samplers.prepare(samplers.resolve("Euler"))
    bare_loop(model, prompts, seeds, pairs, 20)  # warm-up, like the harness's own
    harness(config_path, work / "h-warm")
    ratios = []
    for i in range(args.repeats):
        bare = bare_loop(model, prompts, seeds, pairs, 20)
        full = harness(config_path, work / f"h{i}")
        ratios.append(full / bare)
    cells = len(prompts) * len(seeds) * len(pairs)
    rows.append(("harness / bare loop, wall time per cell", f"{statistics.median(ratios):.3f} "
                 f"(bare {bare / cells * 1e3:.1f} ms/cell)", "<= 1.05"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  {'value':>28}  target")
    for name, value, target in rows:
        print(f"{name.ljust(width)}  {value:>28}  {target}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
