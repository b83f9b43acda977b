"""Cross-library agreement: k-diffusion and diffusers running the same algorithm from the same noise.

Each pair runs both samplers on one task (same model eps, starting noise and seeds) and reports the
relative RMS distance of the results, `as benchmarked`. Where they are not equal to float precision,
the cause was found and a `controlled` run removes it; a controlled distance near 1e-6 shows that the
algorithm itself is the same and the cause is the whole difference. What was found (diffusers 0.42,
k-diffusion 0.1.1, SD's schedule, 10 and 20 steps):

- Euler, Euler a, Heun, LMS (Uniform and Karras): the same to ~1e-6. diffusers interpolates sigma
  linearly between integer timesteps where k-diffusion interpolates log sigma, a ~1e-6 effect. Euler a
  draws the same ancestral noise in both families (one CPU generator per image, seeded alike).
- DPM2, DPM2 a (Karras): diffusers rounds the timesteps of the main evaluations to integers (786
  instead of 785.95) while stepping with the exact Karras sigmas, so the model is called at a slightly
  different noise level than the solver assumes. Controlled: k-diffusion's main evaluations see rounded
  t. (A1111 and ComfyUI also discard the next-to-last sigma for DPM2; diffusers does not, so the pair
  compares k-diffusion without it.)
- DPM++ 2M (Karras): diffusers rounds every model timestep the same way, and DPMSolverMultistep starts
  from the noise itself (init_noise_sigma 1, variance-preserving) where k-diffusion starts from
  sigma_max times the noise (variance-exploding; a factor sqrt(1 - abar_T) = 0.9977 in VP terms).
  Controlled: rounded t for k-diffusion, diffusers started from k-diffusion's point.
- DPM++ 2M with diffusers' default `linspace` spacing: those are n + 1 evenly spaced timesteps without
  the last, rounded to integers (799 for 799.2): k-diffusion's `sgm_uniform` is the same unrounded.
  Controlled: k-diffusion on diffusers' sigmas, rounded t, diffusers from k-diffusion's start.
- DPM++ SDE (Karras): the same solver and the same Brownian seeds; diffusers queries its Brownian tree
  at float32 times, k-diffusion at float64, which moves the noise slightly. Controlled: s_noise = 0
  (the deterministic part agrees to ~1e-7).
- DPM++ 2M SDE: a different noise source, not comparable image by image: diffusers draws Gaussian noise
  per step from the generator, k-diffusion integrates a Brownian tree.
- DDIM vs Euler on `ddim_uniform`: DDIM with eta 0 is Euler on the same timesteps, but diffusers' last
  step goes to abar_0 (set_alpha_to_one false, as SD's config and A1111), not to 0, leaving sigma_0 =
  0.029 of noise, and it starts from the noise itself (VP) at its first timestep. Controlled:
  set_alpha_to_one true, diffusers from k-diffusion's start. When 1000 // n leaves room below T,
  `ddim_uniform` takes one step more than n (as ComfyUI), so the pair only matches for n dividing 1000.
- DDPM and UniPC written here from their papers (`paper:ddpm`, `paper:uni_pc_bh2` at order 2) against
  diffusers' DDPMScheduler and UniPCMultistepScheduler: the same up to diffusers' VP start and rounded
  timesteps, and DDPM draws the same noise. (diffusers' DEISMultistep ends at sigma_min, its last sigma
  repeated, where `paper:deis` denoises: 1.4e-2 apart, 4e-4 on diffusers' sigmas; not a listed pair.)
- SA-Solver written here from its paper (`paper:sa_solver`, predictor and corrector order 2 as diffusers'
  default) against diffusers' SASolverScheduler: both add noise for 200 <= t <= 800 but draw it differently,
  and diffusers ends at sigma_min, returning x VP-scaled there. Controlled: tau = 0 on both sides (eta 0,
  tau_func 0), k-diffusion on diffusers' sigmas with rounded t from diffusers' start, its result VP-scaled.
- Few steps at high CFG on the sharp analytic mixture are chaotic (the image changes completely from n
  to 2n steps): there float rounding grows to visible differences and the table says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

import samplers
from samplers.base import SampleTask

#: (steps, seeds) -> a task on the model of the caller's choice (the bench command uses the analytic one)
TaskFactory = Callable[[int, tuple[int, ...]], SampleTask]

SAME = 1e-5  # relative RMS below which two float32 runs count as the same computation
#: a sampler whose image changes this much between n and 2n steps is in a chaotic regime (few steps, high
#: CFG on a sharp mixture): float rounding grows to visible differences, so nothing can be compared there
ILL_CONDITIONED = 0.5


@dataclass(frozen=True)
class Pair:
    """Two implementations of one algorithm; `controls` remove the differences `why` explains."""

    label: str
    k: str
    diffusers: str
    why: str
    #: round_t, round_main_t, diffusers_sigmas, same_start, no_noise, alpha_to_one, ode (tau = 0 on both sides),
    #: vp_end (diffusers returns x at its last sigma VP-scaled: k-diffusion's divided by sqrt(1 + sigma^2))
    controls: tuple[str, ...] = ()
    comparable: bool = True  # False: different noise sources, the distance is not an error


PAIRS: tuple[Pair, ...] = (
    Pair("Euler", "k:euler/normal", "diffusers:EulerDiscrete/linspace", "same"),
    Pair("Euler Karras", "k:euler/karras", "diffusers:EulerDiscrete/karras", "same"),
    Pair("Euler a", "k:euler_ancestral/normal", "diffusers:EulerAncestralDiscrete/linspace", "same, same noise"),
    Pair("Heun", "k:heun/normal", "diffusers:HeunDiscrete/linspace", "same"),
    Pair("Heun Karras", "k:heun/karras", "diffusers:HeunDiscrete/karras", "same"),
    Pair("LMS", "k:lms/normal", "diffusers:LMSDiscrete/linspace", "same"),
    Pair("LMS Karras", "k:lms/karras", "diffusers:LMSDiscrete/karras", "same"),
    Pair(
        "DPM2 Karras",
        "k:dpm_2/karras?discard_next_to_last_sigma=false",
        "diffusers:KDPM2Discrete/karras",
        "diffusers rounds main timesteps",
        ("round_main_t",),
    ),
    Pair(
        "DPM2 a Karras",
        "k:dpm_2_ancestral/karras?discard_next_to_last_sigma=false",
        "diffusers:KDPM2AncestralDiscrete/karras",
        "diffusers rounds main timesteps",
        ("round_main_t",),
    ),
    Pair(
        "DPM++ 2M",
        "k:dpmpp_2m/sgm_uniform",
        "diffusers:DPMSolverMultistep/linspace",
        "diffusers rounds its timesteps; VP start",
        ("diffusers_sigmas", "round_t", "same_start"),
    ),
    Pair(
        "DPM++ 2M Karras",
        "k:dpmpp_2m/karras",
        "diffusers:DPMSolverMultistep/karras",
        "diffusers rounds timesteps; VP start",
        ("round_t", "same_start"),
    ),
    Pair(
        "DPM++ SDE Karras",
        "k:dpmpp_sde/karras",
        "diffusers:DPMSolverSDE/karras",
        "Brownian tree queried at float32 times",
        ("no_noise",),
    ),
    Pair(
        "DPM++ 2M SDE Karras",
        "k:dpmpp_2m_sde/karras?solver_type=midpoint",
        "diffusers:DPMSolverMultistep/karras?algorithm_type=sde-dpmsolver++",
        "different noise: per-step Gaussian vs Brownian tree",
        comparable=False,
    ),
    Pair(
        "DDIM = Euler",
        "k:euler/ddim_uniform",
        "diffusers:DDIM/leading",
        "DDIM ends at abar_0, not 0; VP start",
        ("alpha_to_one", "same_start"),
    ),  # n dividing 1000 (below)
    # samplers written here from their papers (the paper family) against diffusers' own implementations
    Pair("DDPM (paper)", "paper:ddpm/ddim_uniform", "diffusers:DDPM/leading", "VP start; same noise", ("same_start",)),
    Pair(
        "UniPC-2 bh2 (paper)",
        "paper:uni_pc_bh2/karras?order=2",
        "diffusers:UniPCMultistep/karras",
        "diffusers rounds timesteps; VP start",
        ("round_t", "same_start"),
    ),
    Pair(
        "SA-Solver 2/2 (paper)",
        "paper:sa_solver/karras?predictor_order=2&corrector_order=2",
        "diffusers:SASolver/karras",
        "different noise draws; diffusers ends at sigma_min (VP-scaled), rounds timesteps; VP start",
        ("ode", "diffusers_sigmas", "round_t", "same_start", "vp_end"),
    ),
)


@dataclass(frozen=True)
class Agreement:
    pair: Pair
    steps: int
    distance: float  # relative RMS ||x_k - x_d|| / ||x_k||, as benchmarked
    max_abs: float
    controlled: float | None  # the same with the explained differences removed
    discretisation: float  # relative RMS of k-diffusion at `steps` vs at 2 x steps: the scale of error

    @property
    def verdict(self) -> str:
        if not self.pair.comparable:
            return "differs: " + self.pair.why
        if self.distance < SAME:
            return "same"
        if self.controlled is not None and self.controlled < SAME:
            return "same algorithm; " + self.pair.why
        if self.discretisation > ILL_CONDITIONED:
            return "ill-conditioned at these steps (rounding-level differences grow): use more steps"
        return "UNEXPLAINED difference (expected: " + self.pair.why + ")"


def relative(a: torch.Tensor, b: torch.Tensor) -> float:
    """||a - b|| / ||b|| over the whole batch, in float64."""
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm())


class _Rounding:
    """The task's eps with t rounded to integers: every call, or only the main (even-numbered) ones."""

    def __init__(self, eps, every: bool) -> None:
        self.eps, self.every, self.calls = eps, every, 0

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        rounded = t.round() if self.every or self.calls % 2 == 0 else t
        self.calls += 1
        return self.eps(x, rounded)


def _with_eps(task: SampleTask, eps) -> SampleTask:
    return SampleTask(eps, task.alphas_cumprod, task.noise, task.steps, task.seeds, task.options)


def _controlled(pair: Pair, make_task: TaskFactory, steps: int, seeds: tuple[int, ...]) -> float:
    from samplers import diffusers_schedulers as ds
    from samplers.kdiffusion import sample_on, sigmas_for

    options = {"s_noise": 0.0} if "no_noise" in pair.controls else {}
    last = {"set_alpha_to_one": True} if "alpha_to_one" in pair.controls else {}
    k_spec = samplers.resolve(pair.k, None, {**options, **({"eta": 0.0} if "ode" in pair.controls else {})})
    d_spec = samplers.resolve(pair.diffusers, None, {**options, **last})
    task = make_task(steps, seeds)
    k_eps = task.eps
    if "round_t" in pair.controls or "round_main_t" in pair.controls:
        k_eps = _Rounding(task.eps, every="round_t" in pair.controls)
    with ds.quiet():
        loop = ds.build(d_spec, task)
        if "ode" in pair.controls:  # SASolverScheduler's noise scale tau(t), 0: its ODE solver
            for scheduler in loop.schedulers:
                scheduler.tau_func = lambda t: 0
        if "diffusers_sigmas" in pair.controls:  # k-diffusion on the noise levels diffusers steps through
            x_k = sample_on(k_spec, _with_eps(task, k_eps), loop.schedulers[0].sigmas.double().cpu())
        else:
            x_k = samplers.sample(k_spec, _with_eps(task, k_eps))
        start = task.noise * loop.init_noise_sigma
        if "same_start" in pair.controls:
            model_sigmas = ((1 - task.alphas_cumprod) / task.alphas_cumprod) ** 0.5
            sigma0 = float(sigmas_for(k_spec, steps, model_sigmas)[0])
            vp = float(loop.init_noise_sigma) == 1.0  # DDPM-scaled x: divide by sqrt(1 + sigma^2)
            start = task.noise * (sigma0 / math.sqrt(1 + sigma0**2) if vp else sigma0)
        x_d = ds.denoise(loop, task.eps, start)
    if "vp_end" in pair.controls:
        x_k = x_k / math.sqrt(1 + float(loop.schedulers[0].sigmas[-1]) ** 2)
    return relative(x_d, x_k)


def measure(pair: Pair, make_task: TaskFactory, steps: int = 10, seeds: tuple[int, ...] = (1, 2)) -> Agreement:
    """Run both sides of `pair` on fresh tasks (same noise and seeds) and compare."""
    k_spec, d_spec = samplers.resolve(pair.k), samplers.resolve(pair.diffusers)
    x_k = samplers.sample(k_spec, make_task(steps, seeds))
    x_d = samplers.sample(d_spec, make_task(steps, seeds))
    x_fine = samplers.sample(k_spec, make_task(2 * steps, seeds))
    controlled = _controlled(pair, make_task, steps, seeds) if pair.controls else None
    return Agreement(pair, steps, relative(x_d, x_k), float((x_d - x_k).abs().max()), controlled, relative(x_k, x_fine))


def agreement_table(make_task: TaskFactory, steps: int = 10, pairs: tuple[Pair, ...] = PAIRS) -> list[Agreement]:
    return [measure(pair, make_task, steps) for pair in pairs]
