"""Noise schedules: pure functions of (n, sigma_min, sigma_max, model sigmas) -> sigmas ending in 0.

Each returns n + 1 values (n steps) in the model sigmas' dtype, decreasing, the last one 0, except
where the tool they come from does otherwise (said in the docstring: `ddim_uniform` and `beta` can give
a step more or fewer, as in ComfyUI). `model_sigmas` are the model's discrete sigmas [1000], ascending
(index = timestep). Names and differences between tools: `schedule_names.py`.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from samplers.diffusers_table import SD_CONFIG

#: (n steps, sigma_min, sigma_max, the model's discrete sigmas [1000] ascending) -> sigmas
Schedule = Callable[[int, float, float, torch.Tensor], torch.Tensor]

#: Align Your Steps, the published 10-step schedules (Sabour, Fidler & Kreis 2024, "Align Your Steps:
#: Optimizing Sampling Schedules in Diffusion Models", arXiv:2404.14507; values from the authors' page
#: research.nvidia.com/labs/toronto-ai/AlignYourSteps/howto.html). 11 noise levels for 10 steps.
AYS_SIGMAS: dict[str, tuple[float, ...]] = {
    "sd15": (14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029),
    "sdxl": (14.615, 6.315, 3.771, 2.181, 1.342, 0.862, 0.555, 0.380, 0.234, 0.113, 0.029),
}


def sd_alphas_cumprod() -> torch.Tensor:
    """Stable Diffusion's discrete schedule: betas linear in sqrt(beta) from 0.00085 to 0.012 over 1000
    steps (Rombach et al. 2022), abar_t = prod(1 - beta), float64 [1000]. The one copy of these numbers."""
    start, end = float(SD_CONFIG["beta_start"]), float(SD_CONFIG["beta_end"])  # type: ignore[arg-type]
    n = int(SD_CONFIG["num_train_timesteps"])  # type: ignore[call-overload]
    betas = torch.linspace(start**0.5, end**0.5, n, dtype=torch.float64) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


def _append_zero(sigmas: torch.Tensor) -> torch.Tensor:
    return torch.cat([sigmas, sigmas.new_zeros(1)])


def _from_list(values: list[float], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype)


def log_sigma_at(t: torch.Tensor, log_sigmas: torch.Tensor) -> torch.Tensor:
    """log sigma at fractional timesteps t, linear between the neighbouring integer steps (as
    k-diffusion's `DiscreteSchedule.t_to_sigma`); t is clamped to the table."""
    t = t.to(log_sigmas.dtype).clamp(0, len(log_sigmas) - 1)
    low = t.floor().long()
    high = (low + 1).clamp(max=len(log_sigmas) - 1)
    w = t - low.to(t.dtype)
    table = log_sigmas.to(t.device)
    return (1 - w) * table[low] + w * table[high]


def sigma_at(t: torch.Tensor, model_sigmas: torch.Tensor) -> torch.Tensor:
    """Sigma at fractional timesteps t, interpolated linearly in log sigma (as k-diffusion does)."""
    return log_sigma_at(t, model_sigmas.log()).exp()


def normal(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """The model's own discrete sigmas at n evenly spaced timesteps from T-1 to 0 (A1111 "Uniform")."""
    t = torch.linspace(len(model_sigmas) - 1, 0, n, dtype=model_sigmas.dtype)
    return _append_zero(sigma_at(t, model_sigmas))


def karras(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor, rho: float = 7.0) -> torch.Tensor:
    """Karras et al. 2022 (arXiv:2206.00364), eq. 5: evenly spaced in sigma^(1/rho), rho = 7."""
    ramp = torch.linspace(0, 1, n, dtype=model_sigmas.dtype)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return _append_zero((hi + ramp * (lo - hi)) ** rho)


def exponential(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """Evenly spaced in log sigma from sigma_max to sigma_min."""
    return _append_zero(torch.linspace(math.log(sigma_max), math.log(sigma_min), n, dtype=model_sigmas.dtype).exp())


def polyexponential(
    n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor, rho: float = 1.0
) -> torch.Tensor:
    """k-diffusion's polynomial in log sigma, rho 1 as A1111 uses it (then equal to `exponential`)."""
    ramp = torch.linspace(1, 0, n, dtype=model_sigmas.dtype) ** rho
    return _append_zero((ramp * (math.log(sigma_max) - math.log(sigma_min)) + math.log(sigma_min)).exp())


def sgm_uniform(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """n + 1 evenly spaced timesteps from T-1 to 0 with the last dropped (SGM / ComfyUI / A1111)."""
    t = torch.linspace(len(model_sigmas) - 1, 0, n + 1, dtype=model_sigmas.dtype)[:-1]
    return _append_zero(sigma_at(t, model_sigmas))


def simple(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """Every (T/n)-th discrete sigma counted down from the top (ComfyUI "simple")."""
    stride = len(model_sigmas) / n
    return _append_zero(torch.stack([model_sigmas[-(1 + int(i * stride))] for i in range(n)]))


def ddim_uniform(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """DDIM's timesteps 1, 1 + T//n, 1 + 2T//n, ... < T, reversed (ComfyUI "ddim_uniform", A1111 "DDIM").

    As there, when T//n does not divide T - 1 evenly this gives one step more than n (e.g. n = 7: 8).
    """
    stride = max(len(model_sigmas) // n, 1)
    t = torch.arange(1, len(model_sigmas), stride)
    return _append_zero(model_sigmas[t].flip(0))


def beta(
    n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor, alpha: float = 0.6, beta_: float = 0.6
) -> torch.Tensor:
    """Beta(0.6, 0.6) quantiles of the timesteps (Lee et al. 2024, "Beta Sampling is All You Need",
    arXiv:2407.12173), rounded to integer timesteps as ComfyUI does; repeated timesteps are dropped, so a
    large n can give fewer steps."""
    from scipy import stats

    last = len(model_sigmas) - 1
    quantiles = [1 - i / n for i in range(n)]
    timesteps = [int(round(float(stats.beta.ppf(q, alpha, beta_)) * last)) for q in quantiles]
    unique = [t for i, t in enumerate(timesteps) if i == 0 or t != timesteps[i - 1]]
    return _append_zero(model_sigmas[torch.tensor(unique)])


def beta_sigma(
    n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor, alpha: float = 0.6, beta_: float = 0.6
) -> torch.Tensor:
    """Beta(0.6, 0.6) quantiles of 1, 1 - 1/(n-1), ..., 0 placed linearly between sigma_max and sigma_min,
    then 0: A1111's "Beta" schedule type, the same curve as diffusers' `use_beta_sigmas` (Lee et al. 2024,
    "Beta Sampling is All You Need", arXiv:2407.12173, applied to sigma instead of timesteps)."""
    from scipy import stats

    ramp = [1 - i / (n - 1) for i in range(n)] if n > 1 else [1.0]
    quantiles = [float(stats.beta.ppf(q, alpha, beta_)) for q in ramp]
    return _from_list([sigma_min + q * (sigma_max - sigma_min) for q in quantiles] + [0.0], model_sigmas)


def kl_optimal(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """Evenly spaced in arctan(sigma) from sigma_max to sigma_min, then 0: the KL-optimal schedule
    (Sabour et al. 2024, arXiv:2404.14507, for Gaussian data), in ComfyUI's form."""
    if n == 1:
        return _from_list([sigma_max, 0.0], model_sigmas)
    ramp = torch.arange(n, dtype=model_sigmas.dtype) / (n - 1)
    return _append_zero(torch.tan(ramp * math.atan(sigma_min) + (1 - ramp) * math.atan(sigma_max)))


def linear_quadratic(
    n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor, threshold: float = 0.025
) -> torch.Tensor:
    """Movie Gen's linear-quadratic schedule (Polyak et al. 2024, arXiv:2410.13720, sec. 3.1.2; Genmo's Mochi 1,
    Apache-2.0): the first n // 2 steps spend `threshold` of the way linearly, the rest follow the quadratic
    that joins it with a matching slope and reaches 1; as flow times t in [0, 1], scaled here by sigma_max
    as ComfyUI applies it to other models (n = 1: [sigma_max, 0])."""
    if n == 1:
        return _from_list([sigma_max, 0.0], model_sigmas)
    linear = n // 2
    quadratic = n - linear
    gap = linear - threshold * n
    a = gap / (linear * quadratic**2)
    b = threshold / linear - 2 * gap / quadratic**2
    c = a * linear**2
    times = [i * threshold / linear for i in range(linear)] + [a * i * i + b * i + c for i in range(linear, n)]
    return _from_list([(1.0 - t) * sigma_max for t in times] + [0.0], model_sigmas)


def loglinear_interp(values: tuple[float, ...], count: int) -> list[float]:
    """`count` points log-linearly interpolated through decreasing `values` (the AYS authors' recipe)."""
    logs = [math.log(v) for v in values]
    out = []
    for i in range(count):
        x = i * (len(values) - 1) / (count - 1) if count > 1 else 0.0
        j = min(int(x), len(values) - 2)
        w = x - j
        out.append(math.exp((1 - w) * logs[j] + w * logs[j + 1]))
    return out


def _ays(key: str) -> Schedule:
    def schedule(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
        points = loglinear_interp(AYS_SIGMAS[key], n + 1)
        return _from_list(points[:-1] + [0.0], model_sigmas)

    schedule.__doc__ = (
        f"Align Your Steps ({key}): the published 11 noise levels log-linearly interpolated "
        "to n + 1, the last set to 0 (ComfyUI's AlignYourStepsScheduler; n = 10 gives the "
        "published schedule). Absolute sigmas: they assume SD's noise schedule."
    )
    return schedule


def align_your_steps_11(n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor) -> torch.Tensor:
    """Align Your Steps as an 11-step schedule (A1111/Forge "Align Your Steps 11"): the 11 published SD 1.5
    noise levels (Sabour et al. 2024, arXiv:2404.14507, the AYS page's list) taken as 11 steps, each step
    ending at the next level and the last one at 0; other n log-linearly interpolated to n levels (the AYS
    page's recipe) then 0. The levels are scaled by the model's sigma_max / 14.615 (the published top)."""
    scale = sigma_max / AYS_SIGMAS["sd15"][0]
    points = loglinear_interp(tuple(v * scale for v in AYS_SIGMAS["sd15"]), n)
    return _from_list(points + [0.0], model_sigmas)


SCHEDULE_FUNCTIONS: dict[str, Schedule] = {
    "normal": normal,
    "karras": karras,
    "exponential": exponential,
    "polyexponential": polyexponential,
    "sgm_uniform": sgm_uniform,
    "simple": simple,
    "ddim_uniform": ddim_uniform,
    "beta": beta,
    "beta_sigma": beta_sigma,
    "kl_optimal": kl_optimal,
    "linear_quadratic": linear_quadratic,
    "align_your_steps": _ays("sd15"),
    "align_your_steps_sdxl": _ays("sdxl"),
    "align_your_steps_11": align_your_steps_11,
}


def discard_next_to_last(
    schedule: Schedule, n: int, sigma_min: float, sigma_max: float, model_sigmas: torch.Tensor
) -> torch.Tensor:
    """A1111's `discard_next_to_last_sigma`: n + 1 steps of `schedule` with the next-to-last sigma
    dropped, so n steps whose last one is longer (A1111 and ComfyUI do this for DPM2, A1111 for 3M SDE)."""
    sigmas = schedule(n + 1, sigma_min, sigma_max, model_sigmas)
    return torch.cat([sigmas[:-2], sigmas[-1:]])
