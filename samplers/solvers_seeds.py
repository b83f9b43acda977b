"""SEEDS: stochastic exponential Runge-Kutta solvers of the diffusion SDE, in k-diffusion's calling convention.

SEEDS (Gonzalez et al. 2023, "SEEDS: Exponential SDE Solvers for Fast High-Quality Sampling from Diffusion
Models", arXiv:2305.14267) integrates the linear part of the reverse SDE exactly, the denoised with the
exponential Runge-Kutta weights phi_k, and the noise exactly with *one* Brownian path per step, split at the
stages (Chasles' relation): every stage sees the noise the path has accumulated up to its own time.

Notation (VE / k-diffusion form, alpha = 1, data prediction D): a step from sigma to sigma_next > 0 has
h = log(sigma / sigma_next) (= lambda_next - lambda, lambda = -log sigma) and, with eta >= 0, h_eta = (1 + eta) h.
This is the SDE family of k-diffusion's `sample_dpmpp_2m_sde` (its eta_h = eta h): its linear part maps x to
e^{-h_eta} x, the denoised's weight at first order is 1 - e^{-h_eta} = h_eta phi_1(-h_eta), and its noise over a
sub-interval of length d h ending at sigma_c is sigma_c sqrt(1 - e^{-2 eta d h}). eta = 0 is the
probability-flow ODE, where SEEDS-2 and SEEDS-3 are the classical 2- and 3-stage exponential Runge-Kutta
methods (Hochbruck & Ostermann 2010, "Exponential integrators", Acta Numerica, sec. 2.3 and 5; DPM-Solver-2/3,
Lu et al. 2022, arXiv:2211.01095).

phi_1(z) = (e^z - 1) / z and phi_2(z) = (e^z - 1 - z) / z^2; below, with z = c h_eta,
(c h_eta) phi_1(-c h_eta) = psi_0(c h_eta) and (c h_eta) phi_2(-c h_eta) = psi_1(c h_eta) / (c h_eta), with
`samplers.solvers_common.psi` (series for small arguments, so no cancellation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from tqdm.auto import trange

from samplers.solvers_common import denoise, noise_sampler_or_default, psi
from samplers.solvers_multistep import _report
from samplers.solvers_table import check_seeds_2, check_seeds_3


def phi1_weight(z: float) -> float:
    """z phi_1(-z) = 1 - e^{-z}: the denoised's weight over a step of h_eta = z."""
    return -math.expm1(-z)


def phi2_weight(z: float) -> float:
    """z phi_2(-z) = (e^{-z} - 1 + z) / z = psi_1(z) / z (-> z / 2 for small z; 0 at z = 0)."""
    return psi(z, 1)[1] / z if z > 0 else 0.0


def noise_coefficients(nodes: Sequence[float], h: float, eta: float) -> list[list[float]]:
    """One Brownian path through a step, split at `nodes` (0 = c_0 < c_1 <= ... <= c_k = 1, fractions of h):
    row m - 1 holds, for node c_m (m = 1..k), the weight of each sub-interval's standard normal z_j (j < m)
    in the noise at c_m divided by sigma_{c_m}:
        e^{-eta (c_m - c_{j+1}) h} sqrt(1 - e^{-2 eta (c_{j+1} - c_j) h}).
    Their squares sum to 1 - e^{-2 eta c_m h} (telescoping): the exact transition's variance at every node,
    and the noise at a later node continues the path of an earlier one. A sub-interval of zero length weighs 0."""
    rows = []
    for m in range(1, len(nodes)):
        row = []
        for j in range(m):
            length = nodes[j + 1] - nodes[j]
            if length < 0:
                raise ValueError(f"SEEDS: the stage nodes must increase, got {list(nodes)}")
            row.append(math.exp(-eta * (nodes[m] - nodes[j + 1]) * h) * math.sqrt(-math.expm1(-2 * eta * length * h)))
        rows.append(row)
    return rows


class _PathNoise:
    """The noise of one step at each node (s_noise sigma_c times the combination of the sub-intervals' draws).

    One standard normal per sub-interval of non-zero length, drawn in order with
    `noise_sampler(sigma_{c_j}, sigma_{c_{j+1}})` (a Brownian tree gives independent normalised increments over
    disjoint intervals; per-image generators just draw the next tensor); none at all when eta or s_noise is 0."""

    def __init__(self, nodes: Sequence[float], sigma: float, h: float, eta: float, s_noise: float, draw, like):
        self.sigmas = [sigma * math.exp(-c * h) for c in nodes]
        self.rows = noise_coefficients(nodes, h, eta)
        self.s_noise = s_noise
        self.draws: list[torch.Tensor | None] = []
        stochastic = eta > 0 and s_noise > 0
        for j in range(len(nodes) - 1):
            if stochastic and nodes[j + 1] > nodes[j]:
                lo, hi = self.sigmas[j + 1], self.sigmas[j]
                self.draws.append(draw(like.new_tensor(hi), like.new_tensor(lo)))
            else:
                self.draws.append(None)

    def at(self, m: int) -> torch.Tensor | float:
        """The noise to add at node m (1-based: the m-th node after 0)."""
        out: torch.Tensor | float = 0.0
        for w, z in zip(self.rows[m - 1], self.draws):
            if z is not None and w > 0:
                out = out + (self.s_noise * self.sigmas[m] * w) * z
        return out


def _check_seeds_2(r: float, solver_type: str) -> None:
    problem = check_seeds_2({"r": r, "solver_type": solver_type})
    if problem:
        raise ValueError(f"seeds_2: {problem}")


def _check_seeds_3(r_1: float, r_2: float) -> None:
    problem = check_seeds_3({"r_1": r_1, "r_2": r_2})
    if problem:
        raise ValueError(f"seeds_3: {problem}")


#: one step from sigma to sigma_next > 0 given the denoised at x: (x, sigma, sigma_next, denoised) -> x'
Step = Callable[[torch.Tensor, float, float, torch.Tensor], torch.Tensor]


def one_step_loop(model, x, sigmas, extra_args, callback, disable, step: Step) -> torch.Tensor:
    """The loop of a one-step (Runge-Kutta) sampler: D at each sigma, reported to the callback, then `step`;
    a last step to sigma 0 returns the denoised (as k-diffusion's samplers do)."""
    for i in trange(len(sigmas) - 1, disable=disable):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        x = denoised if sigma_next == 0 else step(x, sigma, sigma_next, denoised)
    return x


def seeds_2_step(
    model: Callable,
    x: torch.Tensor,
    sigma: float,
    sigma_next: float,
    denoised: torch.Tensor,
    extra_args: dict,
    noise_sampler,
    eta: float = 1.0,
    s_noise: float = 1.0,
    r: float = 0.5,
    solver_type: str = "phi_1",
) -> torch.Tensor:
    """One SEEDS-2 step from sigma to sigma_next > 0, given D at x (`denoised`): one more evaluation, at
    sigma_r = sigma e^{-r h}. phi_2: x' = e^{-h_eta} x + psi_0 D_s + (h_eta phi_2(-h_eta) / r) (D_1 - D_s);
    phi_1: x' = e^{-h_eta} x + psi_0 [(1 - 1/(2r)) D_s + 1/(2r) D_1] (DPM-Solver-2's form)."""
    h = math.log(sigma / sigma_next)
    h_eta = (1 + eta) * h
    noise = _PathNoise((0.0, r, 1.0), sigma, h, eta, s_noise, noise_sampler, x)
    u = math.exp(-r * h_eta) * x + phi1_weight(r * h_eta) * denoised + noise.at(1)
    d_1 = denoise(model, u, noise.sigmas[1], extra_args)
    out = math.exp(-h_eta) * x + phi1_weight(h_eta) * denoised
    if solver_type == "phi_2":
        out = out + (phi2_weight(h_eta) / r) * (d_1 - denoised)
    else:
        out = out + (phi1_weight(h_eta) / (2 * r)) * (d_1 - denoised)
    return out + noise.at(2)


@torch.no_grad()
def sample_seeds_2(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    eta=1.0,
    s_noise=1.0,
    noise_sampler=None,
    r=0.5,
    solver_type="phi_1",
):
    """SEEDS-2 (Gonzalez et al. 2023, arXiv:2305.14267): a 2-stage stochastic exponential Runge-Kutta step, the
    stage at the fraction r of the step, its noise the same Brownian path as the step's (see the module).
    solver_type phi_1 weighs D_s and D_1 inside phi_1 (DPM-Solver-2's form), phi_2 corrects with phi_2 / r
    (with r = 1 the exponential trapezoidal rule, Hochbruck & Ostermann 2010, Acta Numerica sec. 2.3).
    eta = 0 is the probability-flow ODE (order 2); a last step to 0 is the denoised."""
    _check_seeds_2(r, solver_type)
    extra_args = {} if extra_args is None else extra_args
    noise_sampler = noise_sampler_or_default(x, noise_sampler)

    def step(x: torch.Tensor, sigma: float, sigma_next: float, denoised: torch.Tensor) -> torch.Tensor:
        return seeds_2_step(
            model, x, sigma, sigma_next, denoised, extra_args, noise_sampler, eta, s_noise, r, solver_type
        )

    return one_step_loop(model, x, sigmas, extra_args, callback, disable, step)


@torch.no_grad()
def sample_seeds_3(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    eta=1.0,
    s_noise=1.0,
    noise_sampler=None,
    r_1=1 / 3,
    r_2=2 / 3,
):
    """SEEDS-3 (Gonzalez et al. 2023, arXiv:2305.14267): a 3-stage stochastic exponential Runge-Kutta step with
    stages at r_1 < r_2 < 1 sharing one Brownian path; its data-prediction weights are DPM-Solver-3's (Lu et al.
    2022, arXiv:2211.01095, Alg. 2; the 3-stage ETD-RK with c_2 = 1/3, c_3 = 2/3):
        u_1 = e^{-r_1 h_eta} x + psi_0(r_1 h_eta) D_s + noise(r_1)
        u_2 = e^{-r_2 h_eta} x + psi_0(r_2 h_eta) D_s
              + (r_2 / r_1) (r_2 h_eta) phi_2(-r_2 h_eta) (D_1 - D_s) + noise(r_2)
        x'  = e^{-h_eta} x + psi_0(h_eta) D_s + (h_eta phi_2(-h_eta) / r_2) (D_2 - D_s) + noise(1).
    eta = 0 is the probability-flow ODE (order 3 with r_2 = 2/3); a last step to 0 is the denoised."""
    _check_seeds_3(r_1, r_2)
    extra_args = {} if extra_args is None else extra_args
    noise_sampler = noise_sampler_or_default(x, noise_sampler)

    def step(x: torch.Tensor, sigma: float, sigma_next: float, denoised: torch.Tensor) -> torch.Tensor:
        h = math.log(sigma / sigma_next)
        h_eta = (1 + eta) * h
        noise = _PathNoise((0.0, r_1, r_2, 1.0), sigma, h, eta, s_noise, noise_sampler, x)
        u_1 = math.exp(-r_1 * h_eta) * x + phi1_weight(r_1 * h_eta) * denoised + noise.at(1)
        d_1 = denoise(model, u_1, noise.sigmas[1], extra_args)
        u_2 = (
            math.exp(-r_2 * h_eta) * x
            + phi1_weight(r_2 * h_eta) * denoised
            + (r_2 / r_1) * phi2_weight(r_2 * h_eta) * (d_1 - denoised)
            + noise.at(2)
        )
        d_2 = denoise(model, u_2, noise.sigmas[2], extra_args)
        return (
            math.exp(-h_eta) * x
            + phi1_weight(h_eta) * denoised
            + (phi2_weight(h_eta) / r_2) * (d_2 - denoised)
            + noise.at(3)
        )

    return one_step_loop(model, x, sigmas, extra_args, callback, disable, step)
