"""One loaded model and what is shared across its cells: encoded prompts, starting noise, warm-ups.

`run_batch` executes the seeds of one cell group as a batch and returns one outcome per cell; a
failure (exception, OOM, NaN/inf) is recorded on the cells it touches and never stops the run.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import torch

import samplers
from bench.clocks import peak_memory, reset_peak_memory, stage
from bench.guidance import GuidedEps
from bench.matrix import Cell


def starting_noise(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Unit normal noise for one image, from a CPU generator: identical on any device, for every sampler."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


@dataclass
class CellOutcome:
    cell: Cell
    status: str
    error: str | None = None
    batch_size: int = 1
    nfe: int | None = None
    times: dict[str, float] = field(default_factory=dict)  # seconds per image
    sample_repeats: list[float] = field(default_factory=list)
    peak_mem: tuple[int | None, str | None] = (None, None)
    latents: torch.Tensor | None = None  # [C, h, w], CPU
    image: Any = None  # uint8 [H, W, 3] numpy


class ModelSession:
    """Runs batches on one model; caches conditioning and noise, warms up once per shape and batch."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.device = torch.device(model.device)
        self._cond: dict[tuple, tuple[Any, float]] = {}
        self._noise: dict[tuple, torch.Tensor] = {}
        self._warm: set[tuple] = set()

    def encode(self, prompt: str, clip_skip: int, n: int) -> tuple[Any, float]:
        """(conditioning for n rows, seconds the encode took); each prompt is encoded once per batch size."""
        key = (prompt, clip_skip, n)
        if key not in self._cond:
            elapsed: list[float] = []
            with torch.inference_mode(), stage(self.device, elapsed):
                cond = self.model.encode([prompt] * n, clip_skip=clip_skip)
            self._cond[key] = (cond, elapsed[0])
        return self._cond[key]

    def noise(self, seeds: list[int], shape: tuple[int, ...]) -> torch.Tensor:
        for seed in seeds:
            if (seed, shape) not in self._noise:
                self._noise[(seed, shape)] = starting_noise(seed, shape)
        return torch.stack([self._noise[(s, shape)] for s in seeds]).to(self.device, self.model.dtype)

    def warm_up(self, eps: GuidedEps, noise: torch.Tensor, spec: samplers.SamplerSpec) -> None:
        """One untimed model call and decode per (shape, batch size), and the sampler family's import."""
        samplers.prepare(spec)
        key = tuple(noise.shape)
        if key in self._warm:
            return
        t = torch.full((noise.shape[0],), 500.0, device=self.device)
        with torch.inference_mode():
            eps(noise, t)
            self.model.decode(noise)
        self._warm.add(key)

    def run_batch(self, cells: list[Cell], repeats: int) -> list[CellOutcome]:
        try:
            return self._run_batch(cells, repeats)
        except Exception as exc:  # isolate: the run goes on, the cells say why
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            error = f"{type(exc).__name__}: {exc}".strip()
            return [CellOutcome(cell, "failed", error, len(cells)) for cell in cells]

    def _run_batch(self, cells: list[Cell], repeats: int) -> list[CellOutcome]:
        first, n = cells[0], len(cells)
        spec = first.sampler.spec
        cond, encode_s = self.encode(first.prompt, first.clip_skip, n)
        uncond, uncond_s = self.encode(first.negative_prompt, first.clip_skip, n)
        if first.cfg_scale == 1.0:
            uncond_s = 0.0
        shape = self.model.latent_shape(first.height, first.width)
        noise = self.noise([c.seed for c in cells], shape)
        eps = GuidedEps(self.model, cond, uncond, first.cfg_scale)
        self.warm_up(eps, noise, spec)
        reset_peak_memory(self.device)
        sample_times: list[float] = []
        task = samplers.SampleTask(eps, self.model.alphas_cumprod, noise, first.steps,
                                   tuple(c.seed for c in cells))
        with torch.inference_mode():
            for _ in range(repeats):
                eps.calls = 0
                with stage(self.device, sample_times):
                    latents = samplers.sample(spec, task)
            decode_times: list[float] = []
            with stage(self.device, decode_times):
                images = self.model.decode(latents)
        peak = peak_memory(self.device)
        per_image = [t / n for t in sample_times]
        times = {"encode_s": (encode_s + uncond_s) / n, "sample_s": statistics.median(per_image),
                 "decode_s": decode_times[0] / n}
        times["total_s"] = sum(times.values())
        latents, images = latents.detach().float().cpu(), images.cpu().numpy()
        outcomes = []
        for i, cell in enumerate(cells):
            finite = bool(torch.isfinite(latents[i]).all())
            outcomes.append(CellOutcome(
                cell, "ok" if finite else "failed",
                None if finite else "non-finite output: the sampler produced NaN or inf", n,
                eps.calls, times, per_image, peak, latents[i], images[i] if finite else None))
        return outcomes
