"""One way to build a sampling task from cells: the runner, the references, `bench agree`, `bench samplers
--check` and the tests all call `build_task`, so a reference solution is provably the harness's own task
run at many steps.

A task is the guided eps of one (model, prompt, negative prompt, CFG, CLIP skip) group, the starting noise
of each seed (drawn once, on the CPU, identical on every device and for every sampler) and the seeds
that seed a sampler's own noise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch

import samplers
from bench.guidance import GuidedEps

if TYPE_CHECKING:
    from bench.models.base import DiffusionModel

#: (prompt, clip skip, rows) -> the model's conditioning for that many rows
Encoder = Callable[[str, int, int], Any]


def starting_noise(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Unit normal noise for one image, from a CPU generator: identical on any device, for every sampler."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def plain_encoder(model: "DiffusionModel") -> Encoder:
    """Encode with the model directly (no cache, no timing)."""
    return lambda prompt, clip_skip, n: model.encode([prompt] * n, clip_skip=clip_skip)


def build_task(
    model: "DiffusionModel",
    cells: Sequence[Any],
    steps: int | None = None,
    encode: Encoder | None = None,
    noise: torch.Tensor | None = None,
    single: bool = True,
) -> samplers.SampleTask:
    """The task of one batch: cells that differ only by seed (`bench.matrix.batches`).

    `steps` overrides the cells' (a reference runs the same task at many steps); `encode` caches and
    times encodings (the session's); `noise` is the batch's starting noise when the caller keeps it;
    `single` adds the eps of one image, which samplers that run images one by one need.
    """
    first, n = cells[0], len(cells)
    encode = encode or plain_encoder(model)
    if noise is None:
        shape = model.latent_shape(first.height, first.width)
        noise = torch.stack([starting_noise(c.seed, shape) for c in cells]).to(model.device, model.dtype)

    def guided(rows: int) -> GuidedEps:
        return GuidedEps(
            model,
            encode(first.prompt, first.clip_skip, rows),
            encode(first.negative_prompt, first.clip_skip, rows),
            first.cfg_scale,
        )

    batch = guided(n)
    return samplers.SampleTask(
        batch,
        model.alphas_cumprod,
        noise,
        first.steps if steps is None else steps,
        tuple(c.seed for c in cells),
        eps_single=guided(1) if single and n > 1 else None,
        eps_pair=batch.with_uncond,
        noise_convention=first.as_dict.get("noise", "samplerbench"),
    )


def analytic_cells(prompt: str, size: int, cfg_scale: float, steps: int, seeds: Sequence[int]) -> list[Any]:
    """Cells of one batch on the default analytic model (every other axis at its default), for tools and
    tests that drive samplers directly with the runner's own task (`bench agree`, the sampler tests)."""
    from bench.matrix import Cell
    from bench.models import ModelSpec
    from bench.sampler_choice import SamplerChoice

    euler = SamplerChoice("Euler", samplers.resolve("Euler"))
    return [
        Cell.of(
            model=ModelSpec("analytic"),
            prompt=prompt,
            negative_prompt="",
            size=(size, size),
            clip_skip=1,
            cfg_scale=cfg_scale,
            sampler=euler,
            steps=steps,
            noise="samplerbench",
            seed=seed,
        )
        for seed in seeds
    ]
