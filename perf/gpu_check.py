"""GPU check: `bench run` against diffusers' own StableDiffusionPipeline, side by side in one process.

SD 1.5 architecture with random weights, fp16, 512x512, batch 1 and 4, 20 steps, CFG 7, for Euler,
DPM++ 2M Karras and diffusers' EulerDiscrete: time per image and peak memory through `bench run`, beside
the same scheduler run by `StableDiffusionPipeline.__call__` with the same latents and weights, and their
ratios (targets: time <= 1.02, memory within 5 %). Then SDXL at 1024x1024, batch 1, 20 steps Euler, for
comparison with published figures. `--tiny` runs the same code on tiny random models on the CPU (tests).
Usage: python perf/gpu_check.py [--tiny] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

PROMPT = "a photograph of an astronaut riding a horse"


@dataclass(frozen=True)
class Case:
    label: str  # the name bench resolves
    scheduler: str  # the diffusers class the pipeline uses for the same algorithm
    options: tuple[tuple[str, object], ...] = ()


CASES = (
    Case("Euler", "EulerDiscreteScheduler", (("timestep_spacing", "linspace"),)),
    Case(
        "DPM++ 2M Karras",
        "DPMSolverMultistepScheduler",
        (("use_karras_sigmas", True), ("algorithm_type", "dpmsolver++"), ("solver_order", 2)),
    ),
    Case("diffusers:EulerDiscrete", "EulerDiscreteScheduler"),
)
SD_SCHEDULE = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
}


def settings(tiny: bool) -> dict:
    if tiny:
        return {
            "arch": "tiny",
            "xl": "tiny-xl",
            "dtype": "float32",
            "device": "cpu",
            "size": 64,
            "xl_size": 64,
            "steps": 4,
        }
    return {
        "arch": "sd15",
        "xl": "sdxl",
        "dtype": "float16",
        "device": "cuda",
        "size": 512,
        "xl_size": 1024,
        "steps": 20,
    }


def bench_run(work: Path, s: dict, arch: str, size: int, samplers: list[str], batch: int, repeats: int):
    """Run through the real harness; returns its results DataFrame."""
    from bench.config import load_config
    from bench.runner import run
    from bench.store import load_results

    config = {
        "name": f"gpu-check-{arch}-b{batch}",
        "prompts": [PROMPT],
        "seeds": list(range(1, batch + 1)),
        "model": {"arch": arch, "weights": "random", "seed": 0, "dtype": s["dtype"], "device": s["device"]},
        "samplers": samplers,
        "steps": [s["steps"]],
        "size": [size, size],
        "cfg_scale": 7.0,
        "batch_size": batch,
        "repeats": repeats,
        "metrics": [],
        "output": str(work / f"{arch}-b{batch}"),
    }
    path = work / f"{arch}-b{batch}.yaml"
    path.write_text(yaml.safe_dump(config))
    run(load_config(path), progress=False)
    return load_results(config["output"])


def pipeline_run(model, case: Case, s: dict, batch: int, repeats: int) -> tuple[float, int | None]:
    """(seconds per image, CUDA peak bytes or None) of diffusers' own pipeline on the same weights and latents."""
    import diffusers

    from bench.task import starting_noise

    scheduler = getattr(diffusers, case.scheduler)(**SD_SCHEDULE, **dict(case.options))
    pipe = diffusers.StableDiffusionPipeline(
        vae=model.vae,
        text_encoder=model.text_encoders[0],
        tokenizer=model.tokenizers[0],
        unet=model.unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    device = torch.device(s["device"])
    shape = model.latent_shape(s["size"], s["size"])
    latents = torch.stack([starting_noise(i, shape) for i in range(1, batch + 1)])
    latents = latents.to(device, model.compute_dtype)

    def call() -> None:
        pipe(
            PROMPT,
            negative_prompt="",
            num_inference_steps=s["steps"],
            guidance_scale=7.0,
            latents=latents.clone(),
            num_images_per_prompt=batch,
            output_type="np",
        )

    call()  # warm-up, as the harness does
    times = []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    peak = int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None
    return statistics.median(times) / batch, peak


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny random models on the CPU (for tests)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-xl", action="store_true", help="skip the SDXL line")
    args = parser.parse_args(argv)
    s = settings(args.tiny)
    if s["device"] == "cuda" and not torch.cuda.is_available():
        raise SystemExit("gpu_check: no CUDA device; use --tiny for the CPU version")
    from bench.models import ModelSpec, load_model

    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    model = load_model(
        ModelSpec(
            "diffusers",
            tuple(
                sorted(
                    {
                        "arch": s["arch"],
                        "weights": "random",
                        "seed": 0,
                        "dtype": s["dtype"],
                        "device": s["device"],
                    }.items()
                )
            ),
        )
    )
    rows: list[dict] = []
    for batch in (1, 4):
        frame = bench_run(work, s, s["arch"], s["size"], [c.label for c in CASES], batch, args.repeats)
        for case in CASES:
            cells = frame[frame.sampler == case.label]
            bench_s = float(cells.total_s.median())
            bench_mem = int(cells.peak_mem_bytes.max())
            pipe_s, pipe_mem = pipeline_run(model, case, s, batch, args.repeats)
            rows.append(
                {
                    "model": s["arch"],
                    "sampler": case.label,
                    "batch": batch,
                    "bench_s": bench_s,
                    "pipeline_s": pipe_s,
                    "time_ratio": bench_s / pipe_s,
                    "bench_mem": bench_mem,
                    "pipeline_mem": pipe_mem,
                    "mem_ratio": bench_mem / pipe_mem if pipe_mem else None,
                    "status": "ok" if (cells.status == "ok").all() else "failed",
                }
            )
    if not args.no_xl:
        frame = bench_run(work, s, s["xl"], s["xl_size"], ["Euler"], 1, args.repeats)
        rows.append(
            {
                "model": s["xl"],
                "sampler": "Euler",
                "batch": 1,
                "bench_s": float(frame.total_s.median()),
                "pipeline_s": None,
                "time_ratio": None,
                "bench_mem": int(frame.peak_mem_bytes.max()),
                "pipeline_mem": None,
                "mem_ratio": None,
                "status": "ok" if (frame.status == "ok").all() else "failed",
            }
        )
    print_table(rows, s)
    return rows


def print_table(rows: list[dict], s: dict) -> None:
    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    print(f"device {s['device']}, {s['dtype']}, {s['steps']} steps, CFG 7; s/image = encode + sample + decode")
    print(
        f"{'model':8} {'sampler':24} {'batch':>5} {'bench s/img':>11} {'pipe s/img':>10} {'ratio':>6} "
        f"{'bench MiB':>9} {'pipe MiB':>9} {'ratio':>6} status"
    )
    for r in rows:
        print(
            f"{r['model']:8} {r['sampler']:24} {r['batch']:>5} {r['bench_s']:>11.4f} "
            f"{fmt(r['pipeline_s'], '>10.4f')} {fmt(r['time_ratio'], '>6.3f')} "
            f"{r['bench_mem'] / 2**20:>9.0f} {fmt(r['pipeline_mem'] and r['pipeline_mem'] / 2**20, '>9.0f')} "
            f"{fmt(r['mem_ratio'], '>6.3f')} {r['status']}"
        )


if __name__ == "__main__":
    main()
