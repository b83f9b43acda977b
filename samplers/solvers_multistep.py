"""Multistep solvers of the probability-flow ODE, written from their papers in k-diffusion's calling convention.

Every function is `sample_x(model, x, sigmas, extra_args=None, callback=None, disable=None, ...)`, `model`
a k-diffusion denoiser D(x, sigma). Each reuses the evaluations of earlier steps (one evaluation per step),
warms up with lower orders, and ends, as k-diffusion's samplers do, with the denoised at the last non-zero
sigma when the schedule ends in 0.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm.auto import trange

from samplers.solvers_common import denoise, exponential_step, lagrange_integrals, lam

#: Adams-Bashforth coefficients for equal steps, newest first (iPNDM, Zhang & Chen 2022, eq. 20)
AB_EQUAL = ((1.0,), (3 / 2, -1 / 2), (23 / 12, -16 / 12, 5 / 12), (55 / 24, -59 / 24, 37 / 24, -9 / 24))


def _report(callback, x, i, sigmas, denoised) -> None:
    if callback is not None:
        callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})


@torch.no_grad()
def sample_ipndm(model, x, sigmas, extra_args=None, callback=None, disable=None, max_order=4):
    """iPNDM (Zhang & Chen 2022, "Fast Sampling of Diffusion Models with Exponential Integrator",
    arXiv:2204.13902, eq. 20): Adams-Bashforth on dx/dsigma = (x - D) / sigma with the equal-step
    coefficients of order 1..4 (lower orders while warming up)."""
    extra_args = {} if extra_args is None else extra_args
    slopes: list[torch.Tensor] = []
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            break
        slopes = [(x - denoised) / sigmas[i], *slopes][:max_order]
        coeffs = AB_EQUAL[len(slopes) - 1]
        x = x + (sigmas[i + 1] - sigmas[i]) * sum(c * d for c, d in zip(coeffs, slopes))
    return x


@torch.no_grad()
def sample_ipndm_v(model, x, sigmas, extra_args=None, callback=None, disable=None, max_order=4):
    """iPNDM with variable steps (Zhang & Chen 2022, arXiv:2204.13902, sec. 4 and App.: the
    Adams-Bashforth weights integrate the Lagrange polynomial through the past sigmas, so the order
    holds on any schedule, not only on equal steps)."""
    extra_args = {} if extra_args is None else extra_args
    slopes: list[tuple[float, torch.Tensor]] = []
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            break
        slopes = [(float(sigmas[i]), (x - denoised) / sigmas[i]), *slopes][:max_order]
        weights = lagrange_integrals([s for s, _ in slopes], float(sigmas[i]), float(sigmas[i + 1]))
        x = x + sum(w * d for w, (_, d) in zip(weights, slopes))
    return x


@torch.no_grad()
def sample_deis(model, x, sigmas, extra_args=None, callback=None, disable=None, max_order=3):
    """tAB-DEIS (Zhang & Chen 2022, arXiv:2204.13902, sec. 4, eq. 14): the exponential integrator of the
    eps form (here dx/dsigma = eps, linear part zero) with eps extrapolated by a polynomial in time.
    Time is log sigma: DEIS allows any time variable, and log sigma stays smooth on a discrete schedule
    (the DDPM index is piecewise linear in it). Order 3 by default, as the paper's tAB3."""
    extra_args = {} if extra_args is None else extra_args
    history: list[tuple[float, torch.Tensor]] = []
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        if sigmas[i + 1] == 0:
            x = denoised
            break
        history = [(math.log(float(sigmas[i])), (x - denoised) / sigmas[i]), *history][:max_order]
        weights = lagrange_integrals(
            [u for u, _ in history], math.log(float(sigmas[i])), math.log(float(sigmas[i + 1])), weight=np.exp
        )
        x = x + sum(w * eps for w, (_, eps) in zip(weights, history))
    return x


def _res_step(x, sigma, sigma_next, denoised, previous):
    history = [] if previous is None else [previous]
    return exponential_step(x, float(sigma), float(sigma_next), denoised, history)


@torch.no_grad()
def sample_res_multistep(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """RES multistep (Zhang, Tao & Chen 2023, "Improved Order Analysis and Design of Exponential Integrator
    for Diffusion Models Sampling", arXiv:2308.02157): second-order exponential multistep in data
    prediction whose weights satisfy the order conditions exactly (psi_1 / h_prev on the difference)."""
    extra_args = {} if extra_args is None else extra_args
    previous = None
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        x, previous = _res_step(x, sigmas[i], sigmas[i + 1], denoised, previous), (lam(sigmas[i]), denoised)
    return x


@torch.no_grad()
def sample_res_multistep_ancestral(
    model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0, noise_sampler=None
):
    """RES multistep (arXiv:2308.02157) to sigma_down, then fresh noise sigma_up: the ancestral split of
    each step (Song et al. 2021, DDIM eta; k-diffusion's get_ancestral_step)."""
    from k_diffusion.sampling import default_noise_sampler, get_ancestral_step

    extra_args = {} if extra_args is None else extra_args
    noise_sampler = default_noise_sampler(x) if noise_sampler is None else noise_sampler
    previous = None
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        sigma_down, sigma_up = get_ancestral_step(float(sigmas[i]), float(sigmas[i + 1]), eta=eta)
        x, previous = _res_step(x, sigmas[i], sigma_down, denoised, previous), (lam(sigmas[i]), denoised)
        if sigmas[i + 1] > 0 and sigma_up > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x
