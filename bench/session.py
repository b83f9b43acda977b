"""One loaded model and what is shared across its cells: encoded prompts, starting noise, warm-ups.

`run_batch` executes the seeds of one cell group as a batch and returns one outcome per cell; a
failure (exception, OOM, NaN/inf) is recorded on the cells it touches and never stops the run.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import Any

import torch

import samplers
from bench.clocks import peak_memory, reset_peak_memory, stage
from bench.matrix import Cell
from bench.task import build_task, starting_noise


@dataclass
class CellOutcome:
    cell: Cell
    status: str
    error: str | None = None
    batch_size: int = 1
    nfe: int | None = None
    times: dict[str, float] = field(default_factory=dict)  # seconds per image
    sample_repeats: list[float] = field(default_factory=list)
    peak_mem: dict[str, Any] = field(default_factory=dict)  # peak_mem_bytes, _reserved_bytes, _kind
    latents: torch.Tensor | None = None  # [C, h, w], CPU
    image: Any = None  # uint8 [H, W, 3] numpy


class ModelSession:
    """Runs batches on one model; caches conditioning and noise, warms up once per shape and batch."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.device = torch.device(model.device)
        self._cond: dict[tuple, tuple[Any, float]] = {}
        self._noise: dict[tuple, torch.Tensor] = {}
        self._encoder_warm: set[tuple[int, int]] = set()
        self.warmups: dict[tuple, float] = {}  # (sampler id, shape) -> seconds (includes any compile)

    def encode(self, prompt: str, clip_skip: int, n: int) -> tuple[Any, float]:
        """(conditioning for n rows, seconds the encode took); each prompt is encoded once per batch size."""
        key = (prompt, clip_skip, n)
        if key not in self._cond:
            if (clip_skip, n) not in self._encoder_warm:  # the first call pays one-off costs: untimed
                with torch.inference_mode():
                    self.model.encode([prompt] * n, clip_skip=clip_skip)
                self._encoder_warm.add((clip_skip, n))
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

    def warm_up(self, task: samplers.SampleTask, spec: samplers.SamplerSpec) -> None:
        """An untimed two-step pass of the sampler and a decode, once per (sampler, shape, batch size).

        The first call of a sampler pays one-off costs (imports such as torchsde, kernel selection,
        allocator growth) that are not the sampler's speed. Two steps, not one: several samplers take a
        shortcut on a single step and would leave their multistep or Brownian-tree path cold.
        """
        key = (spec.id, tuple(task.noise.shape))
        if key in self.warmups:
            return
        elapsed: list[float] = []
        with torch.inference_mode(), stage(self.device, elapsed):
            latents = samplers.sample(spec, replace(task, steps=min(task.steps, 2)))
            self.model.decode(latents)
        self.warmups[key] = elapsed[0]

    def run_batch(self, cells: list[Cell], repeats: int) -> list[CellOutcome]:
        try:
            return self._run_batch(cells, repeats)
        except Exception as exc:  # isolate: the run goes on, the cells say why
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            error = f"{type(exc).__name__}: {exc}".strip()
            return [CellOutcome(cell, "failed", error, len(cells)) for cell in cells]

    def _task(self, cells: list[Cell]) -> tuple[samplers.SampleTask, float]:
        """The batch's sampling task (bench.task) and the seconds its encodings took (cached: once each)."""
        first, n = cells[0], len(cells)
        encode_s = self.encode(first.prompt, first.clip_skip, n)[1]
        if first.cfg_scale != 1.0:  # else no unconditional branch is evaluated
            encode_s += self.encode(first.negative_prompt, first.clip_skip, n)[1]
        noise = self.noise([c.seed for c in cells], self.model.latent_shape(first.height, first.width))
        task = build_task(
            self.model,
            cells,
            encode=lambda p, skip, rows: self.encode(p, skip, rows)[0],
            noise=noise,
            single=samplers.runs_one_by_one(first.sampler.spec),
        )
        return task, encode_s

    def _run_batch(self, cells: list[Cell], repeats: int) -> list[CellOutcome]:
        n, spec = len(cells), cells[0].sampler.spec
        task, encode_s = self._task(cells)
        self.warm_up(task, spec)
        reset_peak_memory(self.device)
        sample_times: list[float] = []
        decode_times: list[float] = []
        with torch.inference_mode():
            for _ in range(repeats):
                with stage(self.device, sample_times):
                    sampled = samplers.run(spec, task)
            latents, nfe = sampled.latents, sampled.nfe
            with stage(self.device, decode_times):
                images = self.model.decode(latents)
        peak = peak_memory(self.device)
        per_image = [t / n for t in sample_times]
        times = {"encode_s": encode_s / n, "sample_s": statistics.median(per_image), "decode_s": decode_times[0] / n}
        times["total_s"] = sum(times.values())
        latents, images = latents.detach().float().cpu(), images.cpu().numpy()
        outcomes = []
        for i, cell in enumerate(cells):
            finite = bool(torch.isfinite(latents[i]).all())
            outcomes.append(
                CellOutcome(
                    cell,
                    "ok" if finite else "failed",
                    None if finite else "non-finite output: the sampler produced NaN or inf",
                    n,
                    nfe[i],
                    times,
                    per_image,
                    peak,
                    latents[i],
                    images[i] if finite else None,
                )
            )
        return outcomes
