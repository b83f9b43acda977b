"""The discrete DDPM schedule of a diffusers model, at fractional timesteps, and its prediction types.

Samplers call a model at fractional t (k-diffusion's sigma_to_t), so the schedule is interpolated in
log sigma between integer steps exactly as k-diffusion's `DiscreteSchedule.t_to_sigma` does; a
v- or x0-predicting UNet is then converted to eps with the same abar the sampler assumed.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import torch

from bench.errors import UserError
from samplers.schedules import log_sigma_at


def _linear(start: float, end: float, n: int) -> torch.Tensor:
    return torch.linspace(start, end, n, dtype=torch.float64)


def _scaled_linear(start: float, end: float, n: int) -> torch.Tensor:
    # linear in sqrt(beta): the LDM / Stable Diffusion schedule (Rombach et al. 2022)
    return torch.linspace(start**0.5, end**0.5, n, dtype=torch.float64) ** 2


def _cosine(start: float, end: float, n: int) -> torch.Tensor:
    # "squaredcos_cap_v2": Nichol & Dhariwal 2021, eq. 17, betas capped at 0.999
    def abar(t: float) -> float:
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

    return torch.tensor([min(1 - abar((i + 1) / n) / abar(i / n), 0.999) for i in range(n)], dtype=torch.float64)


BETA_SCHEDULES: dict[str, Callable[[float, float, int], torch.Tensor]] = {
    "linear": _linear,
    "scaled_linear": _scaled_linear,
    "squaredcos_cap_v2": _cosine,
}


def alphas_cumprod_from_config(config: Mapping[str, Any]) -> torch.Tensor:
    """abar_t = prod(1 - beta) from a diffusers scheduler config, float64 on the CPU."""
    n = int(config.get("num_train_timesteps", 1000))
    if config.get("trained_betas") is not None:
        betas = torch.tensor(config["trained_betas"], dtype=torch.float64)
    else:
        kind = config.get("beta_schedule", "linear")
        if kind not in BETA_SCHEDULES:
            raise UserError(
                f"model scheduler: beta_schedule {kind!r} is not supported; supported: {', '.join(BETA_SCHEDULES)}"
            )
        betas = BETA_SCHEDULES[kind](float(config.get("beta_start", 1e-4)), float(config.get("beta_end", 0.02)), n)
    if config.get("rescale_betas_zero_snr"):
        raise UserError(
            "model scheduler: rescale_betas_zero_snr (abar = 0 at t = T) is not supported: "
            "the samplers need a finite sigma_max"
        )
    return torch.cumprod(1.0 - betas, dim=0)


def log_sigmas(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """log sigma_t, sigma = sqrt((1 - abar) / abar), the variable k-diffusion interpolates in."""
    return (((1 - alphas_cumprod) / alphas_cumprod) ** 0.5).log()


def abar_at(log_sigma: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """abar at fractional t: log sigma interpolated linearly between floor(t) and ceil(t) (float64)."""
    sigma = log_sigma_at(t.to(torch.float64), log_sigma.to(torch.float64)).exp()
    return 1.0 / (1.0 + sigma**2)


def _from_eps(out: torch.Tensor, x_t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    return out


def _from_v(out: torch.Tensor, x_t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    # v = sqrt(abar) eps - sqrt(1-abar) x0 (Salimans & Ho 2022) => eps = sqrt(abar) v + sqrt(1-abar) x_t
    return abar.sqrt() * out + (1 - abar).sqrt() * x_t


def _from_x0(out: torch.Tensor, x_t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    return (x_t - abar.sqrt() * out) / (1 - abar).sqrt()


#: the UNet's output -> eps, by the scheduler config's prediction_type
TO_EPS: dict[str, Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "epsilon": _from_eps,
    "v_prediction": _from_v,
    "sample": _from_x0,
}


def to_eps(prediction_type: str, out: torch.Tensor, x_t: torch.Tensor, abar: torch.Tensor) -> torch.Tensor:
    """Convert a UNet output to eps; abar has shape [B] and is broadcast over the latent dims."""
    abar = abar.to(device=x_t.device, dtype=x_t.dtype).view(-1, *([1] * (x_t.dim() - 1)))
    return TO_EPS[prediction_type](out, x_t, abar)


def check_prediction_type(value: str) -> str:
    if value not in TO_EPS:
        raise UserError(f"model.prediction_type: {value!r} is not supported; supported: {', '.join(TO_EPS)}")
    return value
