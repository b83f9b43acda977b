"""Shared pieces of the sampler tests: the task the runner builds (fixtures `model`, `one_thread`: conftest)."""
from __future__ import annotations

import torch

import samplers
from bench.guidance import GuidedEps
from bench.session import starting_noise

SIZE, STEPS, PROMPT = 8, 3, "a blue square on yellow"


def make_task(model, seeds: tuple[int, ...], steps: int = STEPS) -> samplers.SampleTask:
    """What the runner builds: guided eps (CFG 7), the shared starting noise, per-image seeds."""
    def eps(n: int) -> GuidedEps:
        return GuidedEps(model, model.encode([PROMPT] * n), model.encode([""] * n), 7.0)
    noise = torch.stack([starting_noise(s, model.latent_shape(SIZE, SIZE)) for s in seeds])
    guided = eps(len(seeds))
    return samplers.SampleTask(guided, model.alphas_cumprod, noise, steps, seeds, eps_single=eps(1),
                               eps_pair=guided.with_uncond)


def nfe_of(task: samplers.SampleTask) -> list[int]:
    """NFE per image as the runner records it."""
    return task.stats.get("nfe", [task.eps.calls + getattr(task.eps_single, "calls", 0)] * len(task.seeds))
