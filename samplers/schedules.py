"""Noise schedules: pure functions of (n, sigma_min, sigma_max, model sigmas) -> sigmas [n + 1] ending in 0."""
from __future__ import annotations

from typing import Callable

import torch

#: (n steps, sigma_min, sigma_max, the model's discrete sigmas [1000] ascending) -> sigmas [n + 1]
Schedule = Callable[[int, float, float, torch.Tensor], torch.Tensor]


def _append_zero(sigmas: torch.Tensor) -> torch.Tensor:
    return torch.cat([sigmas, sigmas.new_zeros(1)])


def sigma_at(t: torch.Tensor, model_sigmas: torch.Tensor) -> torch.Tensor:
    """Sigma at fractional timesteps t, interpolated linearly in log sigma (as k-diffusion does)."""
    log_sigmas = model_sigmas.log()
    low = t.floor().long().clamp(0, len(model_sigmas) - 1)
    high = (low + 1).clamp(max=len(model_sigmas) - 1)
    w = t - low.to(t.dtype)
    return ((1 - w) * log_sigmas[low] + w * log_sigmas[high]).exp()


def normal(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """The model's own discrete sigmas at n evenly spaced timesteps from T-1 to 0 (A1111 "Uniform")."""
    t = torch.linspace(len(model_sigmas) - 1, 0, n, dtype=model_sigmas.dtype)
    return _append_zero(sigma_at(t, model_sigmas))


def karras(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor,
           rho: float = 7.0) -> torch.Tensor:
    """Karras et al. 2022, eq. 5: evenly spaced in sigma^(1/rho), rho = 7."""
    ramp = torch.linspace(0, 1, n, dtype=model_sigmas.dtype)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return _append_zero((hi + ramp * (lo - hi)) ** rho)


SCHEDULE_FUNCTIONS: dict[str, Schedule] = {
    "normal": normal,
    "karras": karras,
}
