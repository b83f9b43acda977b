"""SA-Solver (Xue et al. 2023, "SA-Solver: Stochastic Adams Solver for Fast Sampling of Diffusion Models",
arXiv:2309.05019) in k-diffusion's calling convention.

The reverse SDE family with noise scale tau (tau = 0: the probability-flow ODE, tau = 1: the reverse SDE),
the paper's variance-controlled SDE, has in data prediction (alpha = 1, lambda = -log sigma) the exact solution
    x_t = e^{-r h} x_s + int_{lambda_s}^{lambda_t} r e^{-r (lambda_t - u)} D(u) du
          + sigma_t sqrt(1 - e^{-2 tau^2 h}) z,        r = 1 + tau^2, h = lambda_t - lambda_s.
SA-Predictor (a stochastic Adams-Bashforth method) replaces D by its Lagrange polynomial through the last
`predictor_order` denoised values; SA-Corrector (stochastic Adams-Moulton) recomputes the same step once D is
known at its end, through that point and the last `corrector_order - 1` values, with the predictor's noise z.
Each Lagrange basis polynomial is integrated against the exponential weight exactly (`lagrange_integrals`).
Defaults as the authors' README (github.com/scxue/SA-Solver) recommends for small CFG and as ComfyUI's
SamplerSASolver node documents: predictor 3, corrector 4, tau = eta = 1 from 20% to 80% of the schedule.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from tqdm.auto import trange

from samplers.solvers_common import denoise, lagrange_integrals, lam
from samplers.solvers_multistep import _report

Node = tuple[float, torch.Tensor]  # (lambda, D)


def sde_window(model, sigmas, start_percent: float, end_percent: float) -> tuple[float, float]:
    """The sigma interval where tau = eta: ComfyUI's sde_start_percent / sde_end_percent of the model's
    schedule, percent p being the model's timestep (1 - p) (N - 1): 0.2..0.8 is t in 199.8..799.2 (diffusers'
    SASolver default: 200 <= t <= 800); 0 is above every sigma, 1 below. A model without a discrete
    schedule takes the run's sigmas, log-linearly."""
    if hasattr(model, "t_to_sigma") and hasattr(model, "sigmas"):
        last = len(model.sigmas) - 1

        def inside(p: float) -> float:
            return float(model.t_to_sigma(torch.tensor((1.0 - p) * last)))
    else:
        lo, hi = float(sigmas[sigmas > 0].min()), float(sigmas.max())

        def inside(p: float) -> float:
            return math.exp(math.log(hi) + p * (math.log(lo) - math.log(hi)))

    def at(p: float) -> float:
        return math.inf if p <= 0 else 0.0 if p >= 1 else inside(p)

    return at(end_percent), at(start_percent)


def sa_step(
    x: torch.Tensor,
    sigma: float,
    sigma_next: float,
    nodes: list[Node],
    tau: float,
    noise: torch.Tensor | None,
    corrector: bool,
) -> torch.Tensor:
    """x at sigma_next from x at sigma (arXiv:2309.05019: SA-Predictor, or SA-Corrector): D through
    `nodes` (newest first; for the corrector the first is at sigma_next) integrated against r e^{-r(lambda_t - u)}.

    With two nodes the weight of their difference is taken at its leading term, r h^2 / 2 per unit slope, as
    diffusers' SASolverScheduler does at order 2 (an O(h^3) change it makes for few-step sampling, like UniPC's)."""
    lam_s, lam_t = lam(sigma), lam(sigma_next)
    h, r = lam_t - lam_s, 1.0 + tau * tau
    weights = lagrange_integrals([u for u, _ in nodes], lam_s, lam_t, weight=lambda u: r * np.exp(-r * (lam_t - u)))
    if len(nodes) == 2:
        exact = (r * h - 1.0 + math.exp(-r * h)) / r  # int r e^{-r(h - u)} u du: the weight of a unit slope
        if corrector:  # nodes lambda_t, lambda_s: slope (D_t - D_s) / h
            delta = (r * h * h / 2 - exact) / h
        else:  # nodes lambda_s, lambda_prev: slope (D_s - D_prev) / (lambda_s - lambda_prev)
            delta = (r * h * h / 2 - exact) / (nodes[0][0] - nodes[1][0])
        weights = [weights[0] + delta, weights[1] - delta]
    out = math.exp(-r * h) * x + sum(w * d for w, (_, d) in zip(weights, nodes))
    variance = 1.0 - math.exp(-2.0 * tau * tau * h)
    if noise is not None and variance > 0:
        out = out + sigma_next * math.sqrt(variance) * noise
    return out


def _sa_solver(
    model,
    x,
    sigmas,
    extra_args,
    callback,
    disable,
    eta,
    s_noise,
    noise_sampler,
    orders,
    window,
    lower_order_final,
    pece,
) -> torch.Tensor:
    from k_diffusion.sampling import default_noise_sampler

    extra_args = {} if extra_args is None else extra_args
    noise_sampler = default_noise_sampler(x) if noise_sampler is None else noise_sampler
    predictor_order, corrector_order = orders
    lo, hi = sde_window(model, sigmas, *window)
    steps = len(sigmas) - 1
    history: list[Node] = []  # newest first
    previous = None  # (x, sigma, tau, noise, corrector order) of the last predictor step
    for i in trange(steps, disable=disable):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        denoised = denoise(model, x, sigma, extra_args)
        if previous is not None and previous[4] > 0:
            x_prev, sigma_prev, tau_prev, noise_prev, order = previous
            nodes = [(lam(sigma), denoised), *history][:order]
            x = sa_step(x_prev, sigma_prev, sigma, nodes, tau_prev, noise_prev, corrector=True)
            if pece:
                denoised = denoise(model, x, sigma, extra_args)
        _report(callback, x, i, sigmas, denoised)
        history = [(lam(sigma), denoised), *history][: max(predictor_order, corrector_order - 1, 1)]
        if sigma_next == 0:
            x = denoised
            break
        tau = eta if lo <= sigma <= hi else 0.0
        noise = None
        if tau > 0 and s_noise > 0:
            noise = noise_sampler(sigmas[i], sigmas[i + 1]) * s_noise
        # fewer points while warming up and (lower_order_final, as diffusers) over the last steps
        left = steps - i if lower_order_final else steps
        p = min(predictor_order, len(history), left)
        c = min(corrector_order, len(history) + 1, left + 1)
        previous = (x, sigma, tau, noise, c)
        x = sa_step(x, sigma, sigma_next, history[:p], tau, noise, corrector=False)
    return x


@torch.no_grad()
def sample_sa_solver(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    eta=1.0,
    s_noise=1.0,
    noise_sampler=None,
    predictor_order=3,
    corrector_order=4,
    sde_start_percent=0.2,
    sde_end_percent=0.8,
    lower_order_final=True,
):
    """SA-Solver (arXiv:2309.05019): SA-Predictor of `predictor_order`, then, once D is evaluated at
    the predicted point, SA-Corrector of `corrector_order` on the same step (predictor-evaluate-corrector: the
    corrected point is not evaluated again, one evaluation per step). tau = eta inside the SDE window
    (`sde_start_percent`..`sde_end_percent` of the model's schedule), 0 outside; eta = 0 is the ODE solver."""
    orders, window = (predictor_order, corrector_order), (sde_start_percent, sde_end_percent)
    args = (eta, s_noise, noise_sampler, orders, window, lower_order_final)
    return _sa_solver(model, x, sigmas, extra_args, callback, disable, *args, pece=False)


@torch.no_grad()
def sample_sa_solver_pece(
    model,
    x,
    sigmas,
    extra_args=None,
    callback=None,
    disable=None,
    eta=1.0,
    s_noise=1.0,
    noise_sampler=None,
    predictor_order=3,
    corrector_order=4,
    sde_start_percent=0.2,
    sde_end_percent=0.8,
    lower_order_final=True,
):
    """SA-Solver (arXiv:2309.05019) in predictor-evaluate-corrector-evaluate mode: D is evaluated again at the
    corrected point and that value enters the history (two evaluations per step, the first step one)."""
    orders, window = (predictor_order, corrector_order), (sde_start_percent, sde_end_percent)
    args = (eta, s_noise, noise_sampler, orders, window, lower_order_final)
    return _sa_solver(model, x, sigmas, extra_args, callback, disable, *args, pece=True)
