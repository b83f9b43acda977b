"""Restart sampling (Xu et al. 2023, "Restart Sampling for Improving Generative Processes", NeurIPS,
arXiv:2306.14878), in k-diffusion's calling convention.

The paper's Algorithm 1: follow the probability-flow ODE with Heun's method (Karras et al. 2022, Alg. 1)
down the schedule; on reaching the restart interval's low end t_min, K times: jump forward to t_max by adding
sqrt(t_max^2 - t_min^2) of fresh noise ("restart"), then solve the ODE back to t_min in N_restart Heun steps
(Karras spacing). The noise contracts the error accumulated so far, the ODE keeps the discretisation error low.
"""

from __future__ import annotations

import itertools
import math

import torch
from tqdm.auto import trange

from samplers.solvers_common import denoise
from samplers.solvers_multistep import _report


def _heun(model, x, sigma, sigma_next, extra_args):
    """One Heun step (Karras et al. 2022, Alg. 1); Euler on a last step to 0."""
    denoised = denoise(model, x, sigma, extra_args)
    d = (x - denoised) / sigma
    x_next = x + (sigma_next - sigma) * d
    if sigma_next == 0:
        return x_next, denoised
    d_next = (x_next - denoise(model, x_next, sigma_next, extra_args)) / sigma_next
    return x + (sigma_next - sigma) * (d + d_next) / 2, denoised


def _karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> list[float]:
    ramp = [i / (n - 1) for i in range(n)] if n > 1 else [0.0]
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return [(hi + r * (lo - hi)) ** rho for r in ramp]


def _restart_index(sigmas: list[float], t_min: float, t_max: float) -> int | None:
    """Where the interval starts: the first noise level <= t_min, else the last non-zero one if < t_max."""
    positive = [i for i, s in enumerate(sigmas) if s > 0 and i > 0]
    below = [i for i in positive if sigmas[i] <= t_min]
    if below:
        return below[0]
    return positive[-1] if positive and sigmas[positive[-1]] < t_max else None


@torch.no_grad()
def sample_restart(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    s_noise=1.0,
    restart_t_min=0.1,
    restart_t_max=2.0,
    restart_k=2,
    restart_steps=3,
    noise_sampler=None,
):
    """Restart (arXiv:2306.14878, Alg. 1): Heun down `sigmas`; at the first noise level <= restart_t_min (or
    the last non-zero one, if the schedule stops above it), restart_k times: add noise up to restart_t_max,
    Heun back in restart_steps Karras steps to that level. One interval."""
    from k_diffusion.sampling import default_noise_sampler

    extra_args = {} if extra_args is None else extra_args
    noise_sampler = default_noise_sampler(x) if noise_sampler is None else noise_sampler
    at = _restart_index([float(s) for s in sigmas], restart_t_min, restart_t_max)
    for i in trange(len(sigmas) - 1, disable=disable):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        x, denoised = _heun(model, x, sigma, sigma_next, extra_args)
        _report(callback, x, i, sigmas, denoised)
        if i + 1 != at:
            continue
        back = _karras(restart_steps + 1, sigma_next, restart_t_max)
        for _ in range(restart_k):
            jump = math.sqrt(restart_t_max**2 - sigma_next**2)
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * jump
            for s, s_next in itertools.pairwise(back):
                x, _ = _heun(model, x, s, s_next, extra_args)
    return x
