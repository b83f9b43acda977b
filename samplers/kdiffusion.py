"""The k-diffusion family: `k_diffusion.sampling.sample_*` driven through its discrete-DDPM eps denoiser."""
from __future__ import annotations

from typing import Any

import torch

from samplers.base import SamplerSpec, SampleTask, derive_seed
from samplers.schedules import SCHEDULE_FUNCTIONS


class _EpsModel(torch.nn.Module):
    """Adapts the runner's eps callable to the `model(x, t)` k-diffusion's DiscreteEpsDDPMDenoiser calls."""

    def __init__(self, eps) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor, t: torch.Tensor, **_: Any) -> torch.Tensor:
        return self.eps(x, t)


class PerImageNoise:
    """Ancestral noise drawn per image from its own CPU generator, so a batch never changes an image."""

    def __init__(self, like: torch.Tensor, seeds: tuple[int, ...]) -> None:
        self.like = like
        self.generators = [torch.Generator().manual_seed(derive_seed(s, "ancestral")) for s in seeds]

    def __call__(self, sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        shape = self.like.shape[1:]
        draws = [torch.randn(shape, generator=g, dtype=torch.float32) for g in self.generators]
        return torch.stack(draws).to(self.like.device, self.like.dtype)


def _import_k_diffusion():
    """k-diffusion imports clip-anytorch, which warns about pkg_resources on every import: hush that one."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import k_diffusion
    return k_diffusion


def sample(spec: SamplerSpec, task: SampleTask) -> torch.Tensor:
    """Run `sample_<algorithm>` on the spec's schedule from the shared starting noise."""
    k_diffusion = _import_k_diffusion()

    denoiser = k_diffusion.external.DiscreteEpsDDPMDenoiser(
        _EpsModel(task.eps), task.alphas_cumprod.to(task.noise.device), quantize=False)
    sigmas = SCHEDULE_FUNCTIONS[spec.schedule](
        task.steps, float(denoiser.sigma_min), float(denoiser.sigma_max), denoiser.sigmas)
    sigmas = sigmas.to(task.noise.device)
    x = task.noise * sigmas[0]
    kwargs: dict[str, Any] = {**spec.option_dict, **task.options}
    if spec.stochastic:
        kwargs.setdefault("noise_sampler", PerImageNoise(x, task.seeds))
    fn = getattr(k_diffusion.sampling, f"sample_{spec.algorithm}")
    return fn(denoiser, x, sigmas, disable=True, **kwargs)
