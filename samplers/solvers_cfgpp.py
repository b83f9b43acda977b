"""CFG++ samplers (Chung et al. 2024, "CFG++: Manifold-constrained Classifier Free Guidance for Diffusion
Models", arXiv:2406.08070), k-diffusion's calling convention plus `denoise_pair`.

CFG++ (the paper's Alg. 1 for DDIM) takes the clean estimate from the guided prediction but re-noises it with
the *unconditional* one: x_next = x0_guided + sigma_next eps_uncond. Every solver below is its base solver
with the current point x replaced, at each evaluation, by x~ = x0_guided + sigma eps_uncond = x + D_g - D_u
(so the base update's slope (x~ - D_g) / sigma is eps_uncond). With equal conditional and unconditional
predictions x~ = x and each is its base solver exactly. The guidance scale is the run's CFG scale, which the
paper calls lambda and keeps in [0, 1]; CFG++ is not a discretisation of one ODE (the guidance it adds
grows with the number of steps), so it has no order of convergence.

`denoise_pair(x, sigma)` returns (guided denoised, unconditional denoised) from one model evaluation.
"""

from __future__ import annotations

import math

import torch
from tqdm.auto import trange

from samplers.solvers_common import exponential_step, lam, noise_sampler_or_default


def _pair(denoise_pair, x, sigma):
    if denoise_pair is None:
        raise ValueError("a CFG++ sampler needs denoise_pair (the unconditional prediction at each step)")
    guided, uncond = denoise_pair(x, torch.as_tensor(sigma, dtype=x.dtype, device=x.device) * x.new_ones([x.shape[0]]))
    return guided, x + guided - uncond  # (D_g, x~)


def _report(callback, x, i, sigmas, denoised) -> None:
    if callback is not None:
        callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})


def _ancestral(sigma, sigma_next, eta):
    from k_diffusion.sampling import get_ancestral_step

    return get_ancestral_step(float(sigma), float(sigma_next), eta=eta)


@torch.no_grad()
def sample_euler_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None, denoise_pair=None):
    """Euler CFG++ (arXiv:2406.08070, Alg. 1 in the sigma form): x_next = D_g + sigma_next eps_u."""
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised, x_tilde = _pair(denoise_pair, x, sigmas[i])
        _report(callback, x, i, sigmas, denoised)
        x = x_tilde + (sigmas[i + 1] - sigmas[i]) * (x_tilde - denoised) / sigmas[i]
    return x


@torch.no_grad()
def sample_euler_ancestral_cfg_pp(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    eta=1.0,
    s_noise=1.0,
    noise_sampler=None,
    denoise_pair=None,
):
    """Euler ancestral CFG++ (arXiv:2406.08070): the CFG++ Euler step to sigma_down, then sigma_up of noise."""
    noise_sampler = noise_sampler_or_default(x, noise_sampler)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised, x_tilde = _pair(denoise_pair, x, sigmas[i])
        _report(callback, x, i, sigmas, denoised)
        sigma_down, sigma_up = _ancestral(sigmas[i], sigmas[i + 1], eta)
        x = x_tilde + (sigma_down - sigmas[i]) * (x_tilde - denoised) / sigmas[i]
        if sigmas[i + 1] > 0 and sigma_up > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


@torch.no_grad()
def sample_dpmpp_2s_ancestral_cfg_pp(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    eta=1.0,
    s_noise=1.0,
    noise_sampler=None,
    denoise_pair=None,
):
    """DPM-Solver++(2S) (Lu et al. 2022, arXiv:2211.01095, Alg. 1, midpoint r = 1/2) to sigma_down with the
    CFG++ point x~, then sigma_up of noise."""
    noise_sampler = noise_sampler_or_default(x, noise_sampler)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised, x_tilde = _pair(denoise_pair, x, sigmas[i])
        _report(callback, x, i, sigmas, denoised)
        sigma, (sigma_down, sigma_up) = float(sigmas[i]), _ancestral(sigmas[i], sigmas[i + 1], eta)
        if sigma_down == 0:
            x = denoised
        else:
            sigma_mid = math.exp(-(lam(sigma) + 0.5 * (lam(sigma_down) - lam(sigma))))
            mid = exponential_step(x_tilde, sigma, sigma_mid, denoised)
            denoised_mid, _ = _pair(denoise_pair, mid, sigma_mid)
            x = exponential_step(x_tilde, sigma, sigma_down, denoised_mid)
        if sigmas[i + 1] > 0 and sigma_up > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


@torch.no_grad()
def sample_dpmpp_2m_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None, denoise_pair=None):
    """DPM-Solver++(2M) (arXiv:2211.01095, Alg. 2: D = (1 + 1/2r) D_i - 1/2r D_{i-1}, r = h_prev / h) from
    the CFG++ point x~."""
    previous = None  # (lambda, denoised)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised, x_tilde = _pair(denoise_pair, x, sigmas[i])
        _report(callback, x, i, sigmas, denoised)
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        blend = denoised
        if previous is not None and sigma_next > 0:
            r = (lam(sigma) - previous[0]) / (lam(sigma_next) - lam(sigma))
            blend = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * previous[1]
        x, previous = exponential_step(x_tilde, sigma, sigma_next, blend), (lam(sigma), denoised)
    return x


def _res_multistep(x, sigmas, callback, disable, eta, s_noise, noise_sampler, denoise_pair):
    """RES multistep (Zhang et al. 2023, arXiv:2308.02157) from the CFG++ point x~, ancestral when eta > 0."""
    noise_sampler = noise_sampler_or_default(x, noise_sampler) if eta > 0 else noise_sampler
    previous = None
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised, x_tilde = _pair(denoise_pair, x, sigmas[i])
        _report(callback, x, i, sigmas, denoised)
        sigma_down, sigma_up = _ancestral(sigmas[i], sigmas[i + 1], eta)
        history: list[tuple[float, torch.Tensor]] = [] if previous is None else [previous]
        x = exponential_step(x_tilde, float(sigmas[i]), float(sigma_down), denoised, history)
        previous = (lam(sigmas[i]), denoised)
        if sigmas[i + 1] > 0 and sigma_up > 0:
            x = x + noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


@torch.no_grad()
def sample_res_multistep_cfg_pp(model, x, sigmas, extra_args=None, callback=None, disable=None, denoise_pair=None):
    """RES multistep (Zhang et al. 2023, arXiv:2308.02157) from the CFG++ point x~ (arXiv:2406.08070)."""
    return _res_multistep(x, sigmas, callback, disable, 0.0, 1.0, None, denoise_pair)


@torch.no_grad()
def sample_res_multistep_ancestral_cfg_pp(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    eta=1.0,
    s_noise=1.0,
    noise_sampler=None,
    denoise_pair=None,
):
    """RES multistep ancestral (arXiv:2308.02157) from the CFG++ point x~ (arXiv:2406.08070)."""
    return _res_multistep(x, sigmas, callback, disable, eta, s_noise, noise_sampler, denoise_pair)


@torch.no_grad()
def sample_gradient_estimation_cfg_pp(
    model, x, sigmas, extra_args=None, callback=None, disable=None, ge_gamma=2.0, denoise_pair=None
):
    """Gradient estimation (Permenter & Yuan 2024, OpenReview o2ND9v0CeK) from the CFG++ point x~: the slopes
    it blends are the unconditional eps."""
    previous = None
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised, x_tilde = _pair(denoise_pair, x, sigmas[i])
        _report(callback, x, i, sigmas, denoised)
        d = (x_tilde - denoised) / sigmas[i]
        slope = d if previous is None else ge_gamma * d + (1 - ge_gamma) * previous
        x, previous = x_tilde + (sigmas[i + 1] - sigmas[i]) * slope, d
    return x
