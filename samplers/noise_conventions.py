"""Where a sampler's noise comes from, as each tool does it, so a cell can be remade in that tool.

Three conventions, each written from the tool's documented behaviour (no code of theirs is used):

- `samplerbench` (the default): the starting noise of an image is `randn` from a CPU generator seeded with
  its seed; a sampler's own noise comes from generators seeded with `derive_seed(seed, purpose)`, so it
  never replays the starting noise: ancestral steps from one CPU generator per image, SDE samplers from
  one Brownian tree per image. A full denoise starts at sigma_max times the noise.
- `comfyui` (its KSampler, on the CPU): the starting noise of a batch is ONE `randn` of the whole batch
  shape from a CPU generator seeded with the seed, so image k of a batch is slice k of one stream; a cell
  is image 0 of a batch of one. A full denoise (the schedule starting at the model's largest sigma) starts
  at sqrt(1 + sigma_max^2) times the noise (the variance of an SD latent at that level), otherwise at
  sigma times it. The seed itself seeds the default noise sampler of ancestral samplers (a generator on
  the latents' device, one draw of the batch shape per step) and the Brownian tree of SDE samplers
  (one tree over the batch, built on the CPU).
- `a1111` (the WebUI with the setting "Random number generator source: CPU"): each image has one CPU
  generator seeded with its seed; its first draw is the starting noise and every ancestral step draws
  the next numbers from the same generator. SDE samplers get one Brownian tree per image, seeded with the
  image's seed. A full denoise starts at sigma_max times the noise.

What this machine cannot remake: A1111's default "GPU" (and "NV") generator; ComfyUI's ancestral noise
when ComfyUI runs on a GPU (its generator is on the device); ComfyUI's `_gpu` SDE samplers and A1111's SDE
samplers on a GPU (their Brownian trees draw on the device). The churn noise of euler/heun/dpm_2
(`s_churn > 0`) is samplerbench's in every convention.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from samplers.base import NOISE_CONVENTIONS, derive_seed

NoiseSampler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
DEFAULT = "samplerbench"


def unit_noise(seed: int, shape: tuple[int, ...]) -> torch.Tensor:
    """randn of `shape` from a CPU generator seeded with `seed` (float32): every convention's start."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float32)


def comfy_batch_noise(seed: int, batch: int, shape: tuple[int, ...]) -> torch.Tensor:
    """ComfyUI's starting noise of a batch: one draw of [batch, *shape]; image k is slice k of the stream."""
    return unit_noise(seed, (batch, *shape))


def full_denoise_scale(sigma0: float, sigma_max: float) -> float:
    """ComfyUI's factor on the starting noise: sqrt(1 + sigma^2) from the model's top level, else sigma."""
    if math.isclose(sigma0, sigma_max, rel_tol=1e-5) or sigma0 > sigma_max:
        return math.sqrt(1.0 + sigma0**2)
    return sigma0


class StreamNoise:
    """Per-image CPU generators; each step draws one image-shaped tensor from each (`skip` draws first)."""

    def __init__(self, like: torch.Tensor, seeds: tuple[int, ...], keep_batch_dim: bool = False, skip: int = 0) -> None:
        self.device, self.dtype = like.device, like.dtype
        self.shape = (1, *like.shape[1:]) if keep_batch_dim else tuple(like.shape[1:])
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]
        for g in self.generators:
            for _ in range(skip):
                torch.randn(self.shape, generator=g, dtype=torch.float32)

    def __call__(self, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        draws = [
            torch.randn(self.shape, generator=g, dtype=torch.float32).reshape(self.shape[-3:]) for g in self.generators
        ]
        return torch.stack(draws).to(self.device, self.dtype)


class CpuTrees:
    """k-diffusion Brownian-tree noise built and queried on the CPU over the schedule's non-zero range:
    `per_image` trees of [C, h, w] seeded per image, or (ComfyUI) for each image a tree of [1, C, h, w]."""

    def __init__(
        self, k_diffusion, like: torch.Tensor, sigmas: torch.Tensor, seeds: list[int], per_image: bool
    ) -> None:
        self.device, self.dtype = like.device, like.dtype
        positive = sigmas[sigmas > 0].cpu()
        lo, hi = positive.min(), positive.max()
        make = k_diffusion.sampling.BrownianTreeNoiseSampler
        x = like.detach().cpu()
        if per_image:
            self.trees = [make(x, lo, hi, seed=seeds)]
        else:
            self.trees = [make(x[i : i + 1], lo, hi, seed=s) for i, s in enumerate(seeds)]

    def __call__(self, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        s, n = torch.as_tensor(sigma).cpu(), torch.as_tensor(sigma_next).cpu()
        return torch.cat([tree(s, n) for tree in self.trees]).to(self.device, self.dtype)


@dataclass(frozen=True)
class Convention:
    """How one tool scales the starting noise and seeds a sampler's own noise."""

    name: str
    comfy_scale: bool  # sqrt(1 + sigma^2) on a full denoise
    ancestral_seed: Callable[[int], int]
    ancestral_skip: int  # draws of the starting noise to skip (A1111: the same generator goes on)
    brownian_seed: Callable[[int], int]
    brownian_per_image: bool  # one batched tree of per-image seeds (else ComfyUI's tree per [1, C, h, w])

    def start(self, noise: torch.Tensor, sigma0: torch.Tensor | float, sigma_max: float) -> torch.Tensor:
        """The first latents from unit noise: noise * sigma0, or ComfyUI's noise * sqrt(1 + sigma0^2)
        (in the latents' dtype, as the sampler computes it) when the schedule starts at the model's top."""
        if not self.comfy_scale or full_denoise_scale(float(sigma0), sigma_max) == float(sigma0):
            return noise * sigma0
        sigma = torch.as_tensor(sigma0, dtype=noise.dtype, device=noise.device)
        return noise * torch.sqrt(1.0 + sigma**2)

    def ancestral(self, like: torch.Tensor, seeds: tuple[int, ...]) -> NoiseSampler:
        return StreamNoise(
            like,
            tuple(self.ancestral_seed(s) for s in seeds),
            keep_batch_dim=self.comfy_scale,
            skip=self.ancestral_skip,
        )

    def brownian(self, k_diffusion, like: torch.Tensor, sigmas: torch.Tensor, seeds: tuple[int, ...]):
        return CpuTrees(k_diffusion, like, sigmas, [self.brownian_seed(s) for s in seeds], self.brownian_per_image)


CONVENTIONS: dict[str, Convention] = {
    "samplerbench": Convention(
        "samplerbench", False, lambda s: derive_seed(s, "ancestral"), 0, lambda s: derive_seed(s, "brownian"), True
    ),
    "comfyui": Convention("comfyui", True, lambda s: s, 0, lambda s: s, False),
    "a1111": Convention("a1111", False, lambda s: s, 1, lambda s: s, True),
}


assert tuple(CONVENTIONS) == NOISE_CONVENTIONS


def get(name: str) -> Convention:
    if name not in CONVENTIONS:
        raise ValueError(f"unknown noise convention {name!r}; known: {', '.join(CONVENTIONS)}")
    return CONVENTIONS[name]
