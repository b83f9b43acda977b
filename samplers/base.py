"""The one calling convention every sampler family implements (STYLE.md 1).

The runner hands a family adapter a `SampleTask` (plain tensors and a callable) and gets clean latents
back. Adapters absorb every library quirk (sigma bounds, set_timesteps/step loops, noise samplers).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # importing samplers (names, specs) must not import torch: `bench --help` stays fast
    import torch

#: (x_t DDPM-scaled [B, C, h, w], t fractional [B]) -> eps [B, C, h, w], classifier-free guidance applied
EpsFn = Callable[["torch.Tensor", "torch.Tensor"], "torch.Tensor"]
#: (x_t, t) -> (guided eps, unconditional eps), one evaluation of the model (CFG++)
EpsPairFn = Callable[["torch.Tensor", "torch.Tensor"], "tuple[torch.Tensor, torch.Tensor]"]


@dataclass(frozen=True)
class SamplerSpec:
    """A registered sampler: canonical id `family:algorithm/schedule[?options]` and what it means."""

    family: str
    algorithm: str
    schedule: str
    options: tuple[tuple[str, Any], ...] = ()
    label: str = ""  # the A1111-style display name
    stochastic: bool = False
    nfe_per_step: float | None = 1.0  # None: the solver chooses its evaluations (DPM adaptive)
    note: str = ""

    @property
    def id(self) -> str:
        opts = "&".join(f"{k}={v}" for k, v in self.options)
        return f"{self.family}:{self.algorithm}/{self.schedule}" + (f"?{opts}" if opts else "")

    @property
    def option_dict(self) -> dict[str, Any]:
        return dict(self.options)


@dataclass(frozen=True)
class SampleTask:
    """Everything a sampler needs for one batch; the same noise is given to every sampler."""

    eps: EpsFn
    alphas_cumprod: "torch.Tensor"  # [1000], float64
    noise: "torch.Tensor"  # [B, C, h, w], unit normal, drawn once per (seed, shape)
    steps: int
    seeds: tuple[int, ...]  # one per image: seeds the sampler's own noise (ancestral, SDE)
    options: dict[str, Any] = field(default_factory=dict)
    #: the same guided eps for a batch of ONE image (a batch shares prompt and guidance); required when
    #: a sampler runs the images one by one (`samplers.runs_one_by_one(spec)`) and the batch has several
    eps_single: EpsFn | None = None
    #: (x_t, t) -> (guided eps, unconditional eps) from the same single evaluation as `eps` (one NFE): what
    #: CFG++ samplers need; None where the caller cannot give it (those samplers then fail with a reason)
    eps_pair: EpsPairFn | None = None
    #: how the starting noise is scaled and the sampler's own noise seeded (samplers/noise_conventions.py);
    #: the k-diffusion family honours it, the diffusers family always runs samplerbench's
    noise_convention: str = "samplerbench"


#: the noise conventions `samplers.noise_conventions` implements (named here, where no torch is imported)
NOISE_CONVENTIONS: tuple[str, ...] = ("samplerbench", "comfyui", "a1111")


@dataclass(frozen=True)
class Sampled:
    """What a sampler hands back: clean latents [B, C, h, w] and its model evaluations per image."""

    latents: "torch.Tensor"
    nfe: tuple[int, ...]


#: family adapter: (spec, task) -> clean latents [B, C, h, w], or `Sampled` when it counts its own NFE
#: (e.g. images run one by one, so the model's call count is their sum, not each image's NFE)
SampleFn = Callable[[SamplerSpec, SampleTask], "torch.Tensor | Sampled"]


def derive_seed(seed: int, purpose: str) -> int:
    """A seed for one purpose (ancestral noise, Brownian tree...) derived from an image's seed.

    The starting noise uses the seed itself; a sampler's own noise must not replay that stream.
    """
    digest = hashlib.sha256(f"{purpose}:{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
