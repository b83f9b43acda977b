"""Single samplers from their papers, k-diffusion's calling convention: gradient estimation, exponential Heun,
DDPM and LCM. `model` is a k-diffusion denoiser D(x, sigma)."""

from __future__ import annotations

import math

import torch
from tqdm.auto import trange

from samplers.solvers_common import denoise, noise_sampler_or_default
from samplers.solvers_multistep import _report
from samplers.solvers_seeds import sample_seeds_2


@torch.no_grad()
def sample_gradient_estimation(model, x, sigmas, extra_args=None, callback=None, disable=None, ge_gamma=2.0):
    """Gradient estimation (Permenter & Yuan 2024, "Interpreting and Improving Diffusion Models from an
    Optimization Perspective", ICML, OpenReview o2ND9v0CeK, Alg. 2): Euler steps along
    gamma d_i + (1 - gamma) d_{i-1}, d = (x - D) / sigma, gamma = 2; the first step is Euler."""
    extra_args = {} if extra_args is None else extra_args
    previous = None
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        d = (x - denoised) / sigmas[i]
        slope = d if previous is None else ge_gamma * d + (1 - ge_gamma) * previous
        x, previous = x + (sigmas[i + 1] - sigmas[i]) * slope, d
    return x


@torch.no_grad()
def sample_exp_heun_2_x0(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """Exponential Heun in data prediction (the exponential trapezoidal rule, ETD2RK: Hochbruck & Ostermann
    2010, "Exponential integrators", Acta Numerica, sec. 2.3): a DDIM step predicts, the denoised there
    corrects with psi_1 / h. It is the deterministic SEEDS-2 with solver_type phi_2 and r = 1 (Gonzalez et al.
    2023, arXiv:2305.14267; ComfyUI documents exp_heun_2_x0 as that SEEDS-2), and runs as that step."""
    return sample_seeds_2(model, x, sigmas, extra_args, callback, disable, eta=0.0, r=1.0, solver_type="phi_2")


@torch.no_grad()
def sample_exp_heun_2_x0_sde(
    model, x, sigmas, extra_args=None, callback=None, disable=None, eta=1.0, s_noise=1.0, noise_sampler=None
):
    """Exponential Heun (see `sample_exp_heun_2_x0`) on the SDE: SEEDS-2 (Gonzalez et al. 2023,
    arXiv:2305.14267) with solver_type phi_2 and r = 1, as ComfyUI documents exp_heun_2_x0_sde. The stage is
    at the step's end, so it and the result share the step's one noise draw,
    sigma_next sqrt(1 - e^{-2 eta h}) s_noise z (`samplers.solvers_seeds`)."""
    return sample_seeds_2(
        model, x, sigmas, extra_args, callback, disable, eta, s_noise, noise_sampler, r=1.0, solver_type="phi_2"
    )


@torch.no_grad()
def sample_ddpm(model, x, sigmas, extra_args=None, callback=None, disable=None, noise_sampler=None):
    """DDPM ancestral sampling (Ho et al. 2020, arXiv:2006.11239, Alg. 2) between the schedule's noise levels:
    x_s = (x_t - beta / sqrt(1 - abar_t) eps) / sqrt(alpha) + sqrt(beta~) z, in the variance-preserving
    form x / sqrt(1 + sigma^2), with alpha = abar_t / abar_s, beta = 1 - alpha and the posterior
    variance beta~ = (1 - abar_s) / (1 - abar_t) beta."""
    extra_args = {} if extra_args is None else extra_args
    noise_sampler = noise_sampler_or_default(x, noise_sampler)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        eps = (x - denoised) / sigma
        abar_t, abar_s = 1 / (1 + sigma**2), 1 / (1 + sigma_next**2)
        alpha = abar_t / abar_s
        beta = 1 - alpha
        x_vp = x * math.sqrt(abar_t)
        mean = (x_vp - beta / math.sqrt(1 - abar_t) * eps) / math.sqrt(alpha)
        if sigma_next > 0:
            mean = mean + math.sqrt((1 - abar_s) / (1 - abar_t) * beta) * noise_sampler(sigmas[i], sigmas[i + 1])
        x = mean / math.sqrt(abar_s)
    return x


@torch.no_grad()
def sample_lcm(model, x, sigmas, extra_args=None, callback=None, disable=None, noise_sampler=None):
    """Multistep consistency sampling (Song et al. 2023, arXiv:2303.01469, Alg. 1, as LCM runs it: Luo et al.
    2023, arXiv:2310.04378): jump to the denoised, re-noise to the next level with fresh noise. Meant for
    consistency-distilled models; with any other model it is a maximally stochastic ancestral sampler."""
    extra_args = {} if extra_args is None else extra_args
    noise_sampler = noise_sampler_or_default(x, noise_sampler)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        x = denoised
        if sigmas[i + 1] > 0:
            x = x + sigmas[i + 1] * noise_sampler(sigmas[i], sigmas[i + 1])
    return x
