"""A small fake benchmark run (results frame, PNG images, metadata) for the report tests.

It follows the store's column contract without importing `bench`, so the report is tested on exactly
the data it is promised. Timings and metrics follow simple known laws (time proportional to steps,
error falling as a power of steps) so tests can derive their expectations independently.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from PIL import Image, ImageDraw

XSS_PROMPT = "<script>alert(1)</script>"
LONG_PROMPT = (
    "a very long prompt about a lighthouse on a rocky coast at dusk, dramatic clouds, "
    "volumetric light, highly detailed, trending on an imaginary art site"
)
FAIL_ERROR = "RuntimeError: NaN in latents at step 3 <b>not bold</b>"


@dataclass(frozen=True)
class FakeSampler:
    name: str
    sampler_id: str
    family: str
    schedule: str
    stochastic: bool
    sec_per_step: float  # sampling seconds per step per image
    err_scale: float  # ode_error = err_scale * steps ** -order
    order: float
    colour: tuple[int, int, int]


SAMPLERS: tuple[FakeSampler, ...] = (
    FakeSampler("Euler a", "k:euler_ancestral/normal", "k", "normal", True, 0.010, 0.5, 0.5, (200, 60, 60)),
    FakeSampler("DPM++ 2M Karras", "k:dpmpp_2m/karras", "k", "karras", False, 0.012, 0.8, 2.0, (60, 160, 60)),
    FakeSampler("DDIM", "diffusers:DDIM", "diffusers", "default", False, 0.009, 0.3, 1.0, (60, 60, 200)),
)
PROMPTS: tuple[str, ...] = ("a red circle on blue", XSS_PROMPT, LONG_PROMPT)
SEEDS: tuple[int, ...] = (1, 2)
STEPS: tuple[int, ...] = (5, 10, 20)
REPEAT_FACTORS: tuple[float, ...] = (0.95, 1.0, 1.1)
FAILED_CELL = ("DDIM", 5, PROMPTS[0], 2)  # sampler, steps, prompt, seed


def ode_error(s: FakeSampler, steps: int) -> float:
    return s.err_scale * steps**-s.order


def _image(path: Path, s: FakeSampler, steps: int, seed: int, size: tuple[int, int]) -> None:
    img = Image.new("RGB", size, tuple(c // 2 for c in s.colour))
    pen = ImageDraw.Draw(img)
    r = max(2, min(size) * steps // 50)
    cx, cy = size[0] // 2 + seed, size[1] // 2
    pen.ellipse((cx - r, cy - r, cx + r, cy + r), fill=s.colour)
    img.save(path)


def make_fake_run(
    run_dir: Path,
    *,
    samplers: tuple[FakeSampler, ...] = SAMPLERS,
    prompts: tuple[str, ...] = PROMPTS,
    seeds: tuple[int, ...] = SEEDS,
    steps: tuple[int, ...] = STEPS,
    fail: bool = True,
    metrics: bool = True,
    random_weights: bool = False,
    size: tuple[int, int] = (32, 32),
) -> tuple[pd.DataFrame, dict]:
    """Write run_dir/images/*.png and return (results, meta) as the store would give them."""
    run_dir = Path(run_dir)
    (run_dir / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for prompt in prompts:
        for seed in seeds:
            for s in samplers:
                for n in steps:
                    key = repr((prompt, seed, s.sampler_id, n))
                    cell_id = hashlib.sha1(key.encode()).hexdigest()[:16]
                    failed = fail and (s.name, n, prompt, seed) == FAILED_CELL
                    t = s.sec_per_step * n
                    row = dict(
                        cell_id=cell_id,
                        status="failed" if failed else "ok",
                        error=FAIL_ERROR if failed else None,
                        model="analytic",
                        prompt=prompt,
                        negative_prompt="",
                        seed=seed,
                        sampler=s.name,
                        sampler_id=s.sampler_id,
                        family=s.family,
                        schedule=s.schedule,
                        stochastic=s.stochastic,
                        steps=n,
                        cfg_scale=7.0,
                        width=size[0],
                        height=size[1],
                        clip_skip=1,
                        batch_size=len(seeds),
                        nfe=float("nan") if failed else float(n),
                        encode_s=0.001,
                        sample_s=float("nan") if failed else t,
                        decode_s=0.002,
                        total_s=float("nan") if failed else t + 0.003,
                        sample_s_repeats=[] if failed else [t * f for f in REPEAT_FACTORS],
                        peak_mem_bytes=0 if failed else int(100e6 + 1e6 * n * (1 + s.sec_per_step * 100)),
                        peak_mem_kind="cpu_peak_rss_process",
                        image=None if failed else f"images/{cell_id}.png",
                        random_weights=random_weights,
                    )
                    if metrics:
                        nan = float("nan")
                        row.update(
                            ode_error=nan if failed else ode_error(s, n),
                            alignment=nan if failed else 0.9 - 0.5 * ode_error(s, n),
                            fidelity=nan if failed else 1.0 + ode_error(s, n),
                        )
                    if not failed:
                        _image(run_dir / row["image"], s, n, seed, size)
                    rows.append(row)
    meta = {
        "name": "fake <i>bench</i>",
        "created": "2026-12-01T10:00:00+00:00",
        "schema_version": 1,
        "model": {"name": "analytic", "kind": "analytic", "concepts": 12},
        "environment": {
            "device": "cpu",
            "device_name": "Fake CPU",
            "python": "3.11.7",
            "platform": "Linux-x86_64",
            "packages": {"torch": "2.14.1", "k-diffusion": "0.1.1.post1"},
            "git": "0123456789abcdef",
            "cpu": "Fake CPU @ 2 GHz",
        },
        "warnings": ["CLIP weights missing: no open_clip checkpoint in the cache <unescaped?>"],
        "notes": ["made by tests/reports_fixture.py"],
    }
    return pd.DataFrame(rows), meta


def _record() -> dict:
    from bench.record import for_reports

    return for_reports()


#: the harness's cell record as the report receives it (plain data)
RECORD = _record()


def report_axes():
    from reports.axes import Axes

    return Axes.of(RECORD)
