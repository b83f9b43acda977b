"""SDE solvers from their papers, in k-diffusion's calling convention: ER-SDE-Solver.

ER-SDE (Cui et al. 2023, "Elucidating the Solution Space of Extended Reverse-Time SDE for Diffusion Models",
arXiv:2309.06169) is a family of reverse SDEs indexed by a noise scale function phi(sigma); in data
prediction its solution from sigma_s to sigma_t is
    x_t = phi_t / phi_s x_s + phi_t int_{sigma_t}^{sigma_s} phi'(sigma) / phi(sigma)^2 D(x_sigma) dsigma
          + sqrt(sigma_t^2 - sigma_s^2 phi_t^2 / phi_s^2) z.
phi(sigma) = sigma is the probability-flow ODE (DDIM at first order), phi(sigma) = sigma^2 the ancestral/DDPM
step; the paper's solvers of order k expand D to order k - 1 with differences of the earlier denoised values.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm.auto import trange

from samplers.solvers_common import denoise, lagrange_integrals
from samplers.solvers_multistep import _report

#: noise scale function -> (phi, phi'); "er" is sigma (e^{sigma^0.3} + 10), the customised function of the paper's
#: experiments as we recall it (not re-checked against the paper offline: an option, any phi is a valid member)
NOISE_SCALES = {
    "er": (lambda s: s * (np.exp(s**0.3) + 10), lambda s: np.exp(s**0.3) * (1 + 0.3 * s**0.3) + 10),
    "ode": (lambda s: s, lambda s: np.ones_like(s)),
    "ancestral": (lambda s: s * s, lambda s: 2 * s),
}


@torch.no_grad()
def sample_er_sde(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    s_noise=1.0,
    noise_sampler=None,
    max_order=3,
    noise_scale="er",
):
    """ER-SDE-Solver-3 (arXiv:2309.06169, Alg. 1-3): the exact linear part, D interpolated through the last
    `max_order` denoised values (the paper's finite differences) and integrated against phi' / phi^2, and
    fresh Gaussian noise of the SDE's variance each step; a last step to 0 is the denoised."""
    from k_diffusion.sampling import default_noise_sampler

    extra_args = {} if extra_args is None else extra_args
    noise_sampler = default_noise_sampler(x) if noise_sampler is None else noise_sampler
    phi, dphi = NOISE_SCALES[noise_scale]
    history: list[tuple[float, torch.Tensor]] = []
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        history = [(sigma, denoised), *history][:max_order]
        if sigma_next == 0:
            x = denoised
            continue
        ratio = float(phi(np.float64(sigma_next)) / phi(np.float64(sigma)))
        weights = lagrange_integrals([s for s, _ in history], sigma_next, sigma, weight=lambda u: dphi(u) / phi(u) ** 2)
        x = ratio * x + float(phi(np.float64(sigma_next))) * sum(w * d for w, (_, d) in zip(weights, history))
        variance = sigma_next**2 - (sigma * ratio) ** 2
        if variance > 0 and s_noise > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * math.sqrt(variance)
    return x
