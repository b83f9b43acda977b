"""The analytic model's reference: the probability-flow ODE solved far below any sampler's error.

In k-diffusion's parametrisation x = x0 + sigma n, the exact denoiser of an isotropic Gaussian mixture
(means mu_k, weights w_k, shared std s) is D(x, sigma) = (1 - a) x + a m(x, sigma), with
a = sigma^2 / (s^2 + sigma^2), m = sum_k r_k mu_k and r_k ∝ w_k exp((x·mu_k - |mu_k|^2 / 2) / (s^2 + sigma^2))
(the DDPM-scaled maths of `bench.models.analytic` rewritten in sigma). Classifier-free guidance at
scale g is linear in D: m_g = m_u + g (m_c - m_u), u the negative prompt's mixture and c the prompt's
(g = 1: m_c alone), which is what `GuidedEps` computes through eps. The PF-ODE
dx/dsigma = (x - D) / sigma becomes, in u = log sigma, dx/du = a (x - m_g(x, sigma)).

Why not an explicit solver: with guidance, -(1 - g) Cov_u(mu) / v in the Jacobian has eigenvalues of
order g |mu_i - mu_j|^2 / s^2 whenever the unconditional posterior hesitates between two components,
so the ODE turns stiff (dopri5 needs ~1e5 steps on the default benchmark's prompts and samplers stop
converging there). LSODA (scipy; Hindmarsh 1983, Petzold 1983) switches between Adams and BDF on its
own and takes the exact Jacobian a (I - (g Cov_c + (1 - g) Cov_u) / v) given here.

The right-hand side is x minus a combination of the means, so a solution stays in
span{x(sigma_max), mu_1..mu_M}: the ODE is solved in an orthonormal basis of that span (Householder QR,
exact to rounding), a few hundred coordinates instead of C*H*W.

It runs from sigma_max to sigma_min (the model's discrete sigma range, where every k sampler starts and
takes its last step), then applies the final denoise D(x, sigma_min), as the k samplers end (Euler,
Heun, DPM2 and DPM++ take that last step as one denoise). `solve` solves at RTOL and again at
RTOL / 10, keeps the tighter solution and reports their RMS gap as the reference's own error (a bound:
a 1000x tighter solve lands well inside it).

Samplers that end otherwise converge to a slightly different point, and their ode_error levels off
instead of falling: k-diffusion's LMS extrapolates its multistep polynomial from sigma_min to 0 (about
4e-3 RMS on 16x16 prompts), diffusers schedulers start and stop at their own timesteps.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch

#: bump when the solve changes: cached references with an older version are recomputed
SOLVER_VERSION = 1
RTOL = 1e-9  # the check; the reference itself is solved at RTOL / TIGHTER (atol the same)
TIGHTER = 10.0


@dataclass(frozen=True)
class OdeProblem:
    """One (prompt, negative prompt, cfg, size) of the analytic model, float64: what a solve needs."""

    cond_means: torch.Tensor  # [Kc, D]
    cond_log_w: torch.Tensor  # [Kc], normalised
    uncond_means: torch.Tensor  # [Ku, D] (empty when cfg == 1)
    uncond_log_w: torch.Tensor  # [Ku]
    std: float
    cfg: float
    sigma_min: float
    sigma_max: float


def model_sigmas(alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """sqrt((1 - abar) / abar), ascending: k-diffusion's DiscreteSchedule sigmas (float64)."""
    abar = alphas_cumprod.to(torch.float64)
    return ((1 - abar) / abar) ** 0.5


def problem_for(model: Any, prompt: str, negative_prompt: str, cfg: float, height: int, width: int) -> OdeProblem:
    """The ODE of one cell group on an AnalyticModel (its mixtures, std and sigma range)."""

    def parts(text: str) -> tuple[torch.Tensor, torch.Tensor]:
        mix = model.mixture_for(text, height, width)
        log_w = mix.log_weights.to(torch.float64)
        return mix.means.to(torch.float64), log_w - torch.logsumexp(log_w, 0)

    cond_means, cond_log_w = parts(prompt)
    if cfg == 1.0:
        uncond_means, uncond_log_w = cond_means[:0], cond_log_w[:0]
    else:
        uncond_means, uncond_log_w = parts(negative_prompt)
    sigmas = model_sigmas(model.alphas_cumprod)
    return OdeProblem(
        cond_means,
        cond_log_w,
        uncond_means,
        uncond_log_w,
        float(model.std),
        float(cfg),
        float(sigmas[0]),
        float(sigmas[-1]),
    )


@contextmanager
def one_thread() -> Iterator[None]:
    """Small matrix products run faster on one thread than fighting other processes for two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Field:
    """dx/du = a (x - m_g(x, sigma)) and its Jacobian, in projected coordinates y [m]; u = log sigma."""

    def __init__(self, problem: OdeProblem, basis: torch.Tensor) -> None:
        self.s2 = problem.std**2
        self.parts = []  # (means [K, m], |mu|^2 / 2, log w, weight of this mixture in m_g)
        for means, log_w, weight in (
            (problem.cond_means, problem.cond_log_w, problem.cfg),
            (problem.uncond_means, problem.uncond_log_w, 1.0 - problem.cfg),
        ):
            if weight != 0.0 and len(means):
                mu = means @ basis
                self.parts.append((mu, 0.5 * (mu * mu).sum(1), log_w, weight))
        self.calls = self.jacobians = 0

    def _moments(self, y: torch.Tensor, v: float, covariance: bool) -> tuple[torch.Tensor, Any]:
        """m_g and, if asked, g Cov_c + (1 - g) Cov_u of the means under the posteriors."""
        mean, cov = torch.zeros_like(y), torch.zeros(())
        for mu, half_sq, log_w, weight in self.parts:
            r = torch.softmax(torch.addmv(log_w - half_sq / v, mu, y, alpha=1.0 / v), dim=0)
            m = torch.mv(mu.T, r)
            mean.add_(m, alpha=weight)
            if covariance:  # over the components the posterior still sees (a few, where it is stiff)
                seen = r > 1e-15
                cov = cov + weight * ((mu[seen].T * r[seen]) @ mu[seen] - torch.outer(m, m))
        return mean, cov

    def denoise(self, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """D(x, sigma) = (1 - a) x + a m_g: the exact guided denoiser."""
        v = self.s2 + sigma**2
        a = sigma**2 / v
        return (1 - a) * y + a * self._moments(y, v, False)[0]

    def __call__(self, u: float, y: np.ndarray) -> np.ndarray:
        self.calls += 1
        sigma2 = math.exp(2 * u)
        v = self.s2 + sigma2
        yt = torch.from_numpy(y)
        return ((sigma2 / v) * (yt - self._moments(yt, v, False)[0])).numpy()

    def jacobian(self, u: float, y: np.ndarray) -> np.ndarray:
        self.jacobians += 1
        sigma2 = math.exp(2 * u)
        v = self.s2 + sigma2
        cov = self._moments(torch.from_numpy(y), v, True)[1]
        return ((sigma2 / v) * (torch.eye(len(y), dtype=torch.float64) - cov / v)).numpy()


def _basis(x_start: torch.Tensor, problem: OdeProblem) -> torch.Tensor:
    """Orthonormal columns [D, m] whose span holds every starting point and every mean."""
    vectors = torch.cat([x_start, problem.cond_means, problem.uncond_means])
    dim = vectors.shape[1]
    if vectors.shape[0] >= dim:
        return torch.eye(dim, dtype=torch.float64)
    q, _ = torch.linalg.qr(vectors.T)
    return q


@dataclass(frozen=True)
class SolveStats:
    """How hard one row's solve was: field and Jacobian evaluations (Jacobians mean it went stiff)."""

    calls: int
    jacobians: int

    @property
    def stiff(self) -> bool:
        return self.jacobians > 0


def solve_once(
    problem: OdeProblem, noise: torch.Tensor, rtol: float, atol: float | None = None
) -> tuple[torch.Tensor, list[SolveStats]]:
    """Clean outputs [B, D] float64 from unit starting noise [B, D] (LSODA at rtol/atol), per-row stats."""
    from scipy.integrate import solve_ivp

    atol = rtol if atol is None else atol
    with one_thread():
        x_start = noise.to(torch.float64).reshape(noise.shape[0], -1) * problem.sigma_max
        basis = _basis(x_start, problem)
        field = _Field(problem, basis)
        span = (math.log(problem.sigma_max), math.log(problem.sigma_min))
        outputs, stats = [], []
        for y0 in x_start @ basis:
            field.calls = field.jacobians = 0
            sol = solve_ivp(field, span, y0.numpy(), method="LSODA", rtol=rtol, atol=atol, jac=field.jacobian)
            if sol.status != 0:
                raise RuntimeError(f"reference ODE solve failed: {sol.message}")
            y_end = torch.from_numpy(np.ascontiguousarray(sol.y[:, -1]))
            outputs.append(field.denoise(y_end, problem.sigma_min))
            stats.append(SolveStats(field.calls, field.jacobians))
        return torch.stack(outputs) @ basis.T, stats


@dataclass(frozen=True)
class Reference:
    """Reference outputs [B, D] (float64), each row's own error (RMS vs the 10x looser solve), stats."""

    latents: torch.Tensor
    errors: list[float]
    stats: list[SolveStats]


def solve(problem: OdeProblem, noise: torch.Tensor, rtol: float = RTOL) -> Reference:
    """The reference at rtol / TIGHTER, checked against the solve at rtol: their RMS gap is its error."""
    loose, _ = solve_once(problem, noise, rtol)
    tight, stats = solve_once(problem, noise, rtol / TIGHTER)
    errors = ((tight - loose) ** 2).mean(dim=1).sqrt().tolist()
    return Reference(tight, errors, stats)
