"""UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of Diffusion
Models", arXiv:2302.04867), data prediction, in k-diffusion's calling convention.

Each step: the predictor UniP-p extrapolates with p - 1 earlier denoised values; the model is evaluated at the
predicted point, and the corrector UniC-p uses that evaluation to correct the same step (order p + 1) at no
extra cost, the evaluation then serving the next predictor. Weights solve the paper's order conditions
R_p a_p = g_p(h) / B(h) (its eq. 8 and Alg. 2); with a single difference the paper sets a_1 = 1/2, and the
choice B(h) = h ("bh1") or e^h - 1 ("bh2") matters there.
"""

from __future__ import annotations

import math

import torch
from tqdm.auto import trange

from samplers.solvers_common import denoise, difference_weights, lam, psi
from samplers.solvers_multistep import _report

B_OF_H = {"bh1": lambda h: -h, "bh2": lambda h: math.expm1(-h)}  # B(h) in data prediction (h -> -h)


def unipc_step(
    x: torch.Tensor,
    sigma: float,
    sigma_next: float,
    denoised: torch.Tensor,
    points: list[tuple[float, torch.Tensor]],
    variant: str,
) -> torch.Tensor:
    """x at sigma_next from x at sigma with the other denoised `points` [(lambda, D)]: UniP when they are
    earlier, UniC when the last is at sigma_next."""
    h = lam(sigma_next) - lam(sigma)
    out = math.exp(-h) * x + psi(h, 0)[0] * denoised
    offsets = [lam_k - lam(sigma) for lam_k, _ in points]
    if len(points) == 1:  # the paper's a_1 = 1/2: -B(h) a_1 D_1 / r_1, r_1 = offset / h
        weights = [-B_OF_H[variant](h) * 0.5 * h / offsets[0]]
    else:
        weights = difference_weights(offsets, h)
    for a, (_, d_k) in zip(weights, points):
        out = out + a * (d_k - denoised)
    return out


@torch.no_grad()
def sample_uni_pc(model, x, sigmas, extra_args=None, callback=None, disable=None, order=3, variant="bh1"):
    """UniPC-p with UniC (arXiv:2302.04867, Alg. 2-3, data prediction): order p = 3 by default, lower while
    warming up; no corrector after the last step (it would cost an evaluation), and a last step to
    sigma 0 is the denoised."""
    extra_args = {} if extra_args is None else extra_args
    history: list[tuple[float, torch.Tensor]] = []  # (lambda, denoised), newest first
    step = None  # the previous step: (x, sigma, its denoised, its earlier points)
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        if step is not None:  # UniC: correct the step just taken with this evaluation
            x_prev, sigma_prev, denoised_prev, earlier = step
            x = unipc_step(
                x_prev, sigma_prev, float(sigmas[i]), denoised_prev, [*earlier, (lam(sigmas[i]), denoised)], variant
            )
        history = [(lam(sigmas[i]), denoised), *history][:order]
        if sigmas[i + 1] == 0:
            x = denoised
            break
        step = (x, float(sigmas[i]), denoised, history[1:])
        x = unipc_step(x, float(sigmas[i]), float(sigmas[i + 1]), denoised, history[1:], variant)
    return x


@torch.no_grad()
def sample_uni_pc_bh2(model, x, sigmas, extra_args=None, callback=None, disable=None, order=3):
    """UniPC with B(h) = e^h - 1 (arXiv:2302.04867, sec. 3.3: "bh2", the paper's choice for guided sampling)."""
    return sample_uni_pc(model, x, sigmas, extra_args, callback, disable, order=order, variant="bh2")
