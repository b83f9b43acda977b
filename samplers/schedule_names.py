"""Schedule ids and the names the UIs give them (no torch here; the functions are in `schedules.py`).

A1111 1.9+ calls a schedule a "Schedule type" (its labels below), ComfyUI a `scheduler` (the ids are
ComfyUI's names where ComfyUI has the schedule). Where two tools use one name for different curves,
the docs say which one is meant here:
- `normal` is the model's own discrete sigmas at evenly spaced timesteps: ComfyUI "normal", A1111
  "Uniform" and A1111 "Normal" (the same numbers).
- `beta` is the Beta-quantile schedule over *timesteps* (Lee et al. 2024, as ComfyUI implements it).
  A1111's "Beta" and diffusers' `use_beta_sigmas` place the quantiles linearly in *sigma* instead:
  that one is `beta_sigma` (both families; the schedule type "Beta" means it).
- `kl_optimal` ends with a step to 0, as ComfyUI; A1111's version stops at sigma_min.
- `align_your_steps` interpolates the published 10-step schedule to n + 1 points and sets the last to 0,
  as ComfyUI does (at n = 10 it is the published schedule); A1111 appends 0 after n points instead:
  that form is `align_your_steps_11` (Forge's "Align Your Steps 11": the 11 levels are 11 steps).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduleName:
    labels: tuple[str, ...]  # display labels (A1111 "Schedule type" labels where `a1111`); the first shows
    description: str
    comfy: bool = True  # ComfyUI has a scheduler of this id
    a1111: bool = True  # the labels are A1111's: "<sampler label> <schedule label>" names a sampler


#: k-diffusion family schedules (functions of n, sigma_min, sigma_max and the model's sigmas)
K_SCHEDULES: dict[str, ScheduleName] = {
    "normal": ScheduleName(("Uniform", "Normal"), "the model's discrete sigmas at n evenly spaced timesteps"),
    "karras": ScheduleName(("Karras",), "Karras et al. 2022: evenly spaced in sigma^(1/7)"),
    "exponential": ScheduleName(("Exponential",), "evenly spaced in log sigma"),
    "polyexponential": ScheduleName(("Polyexponential",), "k-diffusion's polynomial in log sigma, rho 1", comfy=False),
    "sgm_uniform": ScheduleName(("SGM Uniform", "SGMUniform"), "n + 1 evenly spaced timesteps, the last dropped"),
    "simple": ScheduleName(("Simple",), "every (1000/n)-th discrete sigma from the top (ComfyUI)"),
    "ddim_uniform": ScheduleName(("DDIM",), "timesteps 1, 1 + 1000//n, ... as DDIM (ComfyUI ddim_uniform)"),
    "beta": ScheduleName(
        ("Beta (timesteps)",), "Beta(0.6, 0.6) quantiles of the timesteps (Lee et al. 2024)", a1111=False
    ),
    "beta_sigma": ScheduleName(
        ("Beta", "Beta (sigmas)"),
        'Beta(0.6, 0.6) quantiles placed linearly in sigma (A1111 "Beta", diffusers use_beta_sigmas)',
        comfy=False,
    ),
    "kl_optimal": ScheduleName(("KL Optimal",), "evenly spaced in arctan(sigma) (Sabour et al. 2024)"),
    "linear_quadratic": ScheduleName(
        ("Linear Quadratic",), "Movie Gen: linear for half the steps, then quadratic", a1111=False
    ),
    "align_your_steps": ScheduleName(
        ("Align Your Steps",), "AYS SD 1.5 (Sabour et al. 2024), log-linear to n", comfy=False
    ),
    "align_your_steps_sdxl": ScheduleName(
        ("Align Your Steps SDXL",), "AYS SDXL (Sabour et al. 2024)", comfy=False, a1111=False
    ),
    "align_your_steps_11": ScheduleName(
        ("Align Your Steps 11",), "the 11 AYS SD 1.5 levels as n = 11 steps to 0, log-linear to n", comfy=False
    ),
}

#: pseudo-schedules of the two k-diffusion samplers that choose their own noise levels
K_SOLVER_SCHEDULES: dict[str, ScheduleName] = {
    "adaptive": ScheduleName(
        ("Adaptive",), "DPM-Solver-12/23 picks its steps to a tolerance", comfy=False, a1111=False
    ),
}

#: diffusers family schedules: a `timestep_spacing`, or a `use_*_sigmas` flag
DIFFUSERS_SCHEDULES: dict[str, ScheduleName] = {
    "leading": ScheduleName(
        ("Leading",), "timesteps 0, T/n, 2T/n ... (+ steps_offset 1), reversed", comfy=False, a1111=False
    ),
    "linspace": ScheduleName(("Linspace",), "timesteps evenly spaced from T-1 to 0", comfy=False, a1111=False),
    "trailing": ScheduleName(("Trailing",), "timesteps T-1, T-1-T/n ... (Lin et al. 2024)", comfy=False, a1111=False),
    "lcm": ScheduleName(
        ("LCM",), "every k-th timestep of the LCM training grid (original_inference_steps)", comfy=False, a1111=False
    ),
    "karras": K_SCHEDULES["karras"],
    "exponential": K_SCHEDULES["exponential"],
    "beta_sigma": K_SCHEDULES["beta_sigma"],
}

ALL_SCHEDULES: dict[str, ScheduleName] = {**K_SCHEDULES, **K_SOLVER_SCHEDULES, **DIFFUSERS_SCHEDULES}


def schedule_label(schedule: str) -> str:
    """The A1111-style label of a schedule id (the id itself when it has none)."""
    entry = ALL_SCHEDULES.get(schedule)
    return entry.labels[0] if entry else schedule
