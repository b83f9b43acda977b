"""What the solvers implemented here share: the denoiser call, exponential-integrator weights, Adams weights.

Notation (k-diffusion's): x = x0 + sigma n, D(x, sigma) the denoiser, lambda = -log sigma, and a step from
sigma_s to sigma_t has h = lambda_t - lambda_s > 0. The probability-flow ODE in data prediction is
x_t = e^{-h} x_s + int_0^h e^{u-h} D(lambda_s + u) du (Lu et al. 2022, arXiv:2211.01095, eq. 9 with alpha = 1);
expanding D in Taylor series around lambda_s gives `psi`, the exact weight of each derivative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

#: (x, sigma) -> (guided denoised, unconditional denoised): what CFG++ samplers need (one evaluation)
PairDenoiser = Callable[[torch.Tensor, torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


def noise_sampler_or_default(x: torch.Tensor, noise_sampler):
    """The sampler's noise: the one the adapter gives (seeded per image), else k-diffusion's default."""
    from k_diffusion.sampling import default_noise_sampler

    return default_noise_sampler(x) if noise_sampler is None else noise_sampler


def denoise(model, x: torch.Tensor, sigma: torch.Tensor | float, extra_args: dict) -> torch.Tensor:
    """D(x, sigma) for the whole batch (sigma a scalar)."""
    return model(x, torch.as_tensor(sigma, dtype=x.dtype, device=x.device) * x.new_ones([x.shape[0]]), **extra_args)


def lam(sigma: torch.Tensor | float) -> float:
    """lambda = -log sigma (the half log-SNR of the VE form), as a Python float."""
    return -math.log(float(sigma))


def psi(h: float, n: int) -> list[float]:
    """psi_k(h) = int_0^h e^{u-h} u^k / k! du for k = 0..n: the weight of D's k-th lambda-derivative.

    psi_0 = 1 - e^{-h}, psi_k = h^k / k! - psi_{k-1}; for small h the series
    psi_k = sum_j (-1)^j h^{k+1+j} / (k+1+j)! avoids the cancellation of that recursion.
    """
    if h < 0.5:
        return [sum((-1) ** j * h ** (k + 1 + j) / math.factorial(k + 1 + j) for j in range(40)) for k in range(n + 1)]
    out = [-math.expm1(-h)]
    for k in range(1, n + 1):
        out.append(h**k / math.factorial(k) - out[-1])
    return out


def difference_weights(offsets: Sequence[float], h: float) -> list[float]:
    """Weights a_k with sum_k a_k (D(lambda_s + offsets_k) - D(lambda_s)) = sum_n psi_n(h) D^(n) to order
    len(offsets): the order conditions of an exponential multistep/Runge-Kutta method, solved exactly."""
    m = len(offsets)
    if m == 0:
        return []
    weights = psi(h, m)
    matrix = np.array([[o**n / math.factorial(n) for o in offsets] for n in range(1, m + 1)])
    return np.linalg.solve(matrix, np.array(weights[1 : m + 1])).tolist()


def exponential_step(
    x: torch.Tensor,
    sigma: float,
    sigma_next: float,
    denoised: torch.Tensor,
    history: Sequence[tuple[float, torch.Tensor]] = (),
) -> torch.Tensor:
    """x at sigma_next from x at sigma: the exponential integrator in data prediction with D's Taylor terms
    estimated from `history` [(lambda, D)] (earlier or later points); sigma_next = 0 is the denoised."""
    if sigma_next == 0:
        return denoised
    h = lam(sigma_next) - lam(sigma)
    out = math.exp(-h) * x + psi(h, 0)[0] * denoised
    offsets = [lam_k - lam(sigma) for lam_k, _ in history]
    for a, (_, d_k) in zip(difference_weights(offsets, h), history):
        out = out + a * (d_k - denoised)
    return out


def lagrange_integrals(
    nodes: Sequence[float], a: float, b: float, weight: Callable[[np.ndarray], np.ndarray] | None = None
) -> list[float]:
    """int_a^b L_j(u) w(u) du for the Lagrange basis L_j on `nodes` (Gauss-Legendre, 12 points: exact for
    w = 1 and degree < 24, to rounding for a smooth w over one step). Adams-Bashforth weights when the
    nodes are the past points."""
    u, g = np.polynomial.legendre.leggauss(12)
    t = 0.5 * (b - a) * u + 0.5 * (a + b)
    w = 0.5 * (b - a) * g * (weight(t) if weight is not None else 1.0)
    out = []
    for j, node in enumerate(nodes):
        basis = np.ones_like(t)
        for k, other in enumerate(nodes):
            if k != j:
                basis = basis * (t - other) / (node - other)
        out.append(float((basis * w).sum()))
    return out
