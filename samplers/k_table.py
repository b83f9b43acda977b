"""The k-diffusion family: every `k_diffusion.sampling.sample_*` function and its names (no torch here).

A1111 facts encoded below (stable-diffusion-webui 1.9+, modules/sd_samplers_kdiffusion.py):
- "Automatic" schedule: DPM++ 2M, DPM++ SDE, DPM++ 2S a, DPM2, DPM2 a -> Karras; DPM++ 2M SDE (Heun),
  DPM++ 3M SDE -> Exponential; Euler, Euler a, LMS, Heun -> the model's own sigmas ("Uniform").
- DPM2, DPM2 a and DPM++ 3M SDE discard the next-to-last sigma (ComfyUI does it for DPM2 and DPM2 a only).
- A1111 passes its "Eta for ancestral samplers" (default 1) to every function that takes `eta`, so its
  DPM fast and DPM adaptive are the ancestral (eta = 1) variants; plain `dpm_fast`/`dpm_adaptive` (as
  ComfyUI runs them) keep k-diffusion's eta = 0.
- "DPM fast" and "dpm_fast" are one name here (case, space and "_" do not matter): it is A1111's
  (eta 1); ComfyUI's eta-0 runs are the pairs (`dpm_fast/karras`) and `k:dpm_fast`. Same for adaptive.
- DPM fast and DPM adaptive take sigma bounds (the model's), not a schedule (ComfyUI's `dpm_fast/simple`
  etc. take the bounds of the chosen schedule: `RANGE_SCHEDULES`). DPM fast makes `steps`
  model evaluations (A1111 passes n = steps). DPM adaptive ignores `steps`, as in A1111: it runs to its
  tolerance (rtol 0.05, atol 0.0078 by default; set `rtol`/`atol` to trade time for accuracy) and the
  benchmark records the evaluations it really made.
ComfyUI's "ddim" sampler is k-diffusion Euler (DDIM with eta 0 is Euler on the probability-flow ODE), so
`ddim/<scheduler>` pairs resolve to `k:euler/<scheduler>`; the `_gpu` SDE variants differ from the
plain ones only in where ComfyUI draws the Brownian noise, so they resolve to the same samplers.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from samplers.algorithms import CHURN, DISCARD, ETA_ANCESTRAL, S_NOISE, Algorithm, Option, churned, with_eta
from samplers.schedule_names import K_SCHEDULES

ALL = tuple(K_SCHEDULES)

_ANCESTRAL = {"eta": ETA_ANCESTRAL, "s_noise": S_NOISE}
_DISCARD_ON = Option(bool, True, DISCARD.help, target="adapter")
_ETA0 = Option(float, 0.0, "ancestral noise (k-diffusion's default 0 is the ODE solver)", minimum=0.0)
_SDE = {"eta": Option(float, 1.0, "SDE noise: 0 is the ODE solver", minimum=0.0), "s_noise": S_NOISE}
_SOLVER = Option(str, "midpoint", "second-order correction of DPM++ 2M SDE", choices=("midpoint", "heun"))
_ADAPTIVE = {
    "order": Option(int, 3, "DPM-Solver-12 (2) or -23 (3)", choices=(2, 3)),
    "rtol": Option(float, 0.05, "relative tolerance of the step-size controller", minimum=0.0),
    "atol": Option(float, 0.0078, "absolute tolerance of the step-size controller", minimum=0.0),
    "h_init": Option(float, 0.05, "first step size in log sigma", minimum=0.0),
    "pcoeff": Option(float, 0.0, "PID controller: proportional"),
    "icoeff": Option(float, 1.0, "PID controller: integral"),
    "dcoeff": Option(float, 0.0, "PID controller: derivative"),
    "accept_safety": Option(float, 0.81, "accept a step when the error factor is at least this"),
    "eta": _ETA0,
    "s_noise": S_NOISE,
}
_ADAPTIVE_NOTE = "ignores steps: runs to its tolerance (rtol/atol options); NFE recorded"
_FAST_NOTE = "steps = model evaluations; noise levels uniform in log sigma between the model's bounds"
#: dpm_fast and dpm_adaptive take a sigma range, not a list of sigmas
BOUNDED = ("dpm_fast", "dpm_adaptive")
#: ComfyUI hands dpm_fast/dpm_adaptive the chosen schedule's first and last non-zero sigma (and dpm_fast its
#: step count); these schedules do not span the model's range, so each pair is a sampler of its own here
RANGE_SCHEDULES = ("simple", "sgm_uniform", "ddim_uniform", "beta", "linear_quadratic")
_RANGE_NOTE = "; ComfyUI's: sigma range (and for dpm_fast the step count) from the schedule"


K_ALGORITHMS: dict[str, Algorithm] = {
    "euler": Algorithm(
        "euler",
        "Euler",
        ALL,
        CHURN,
        stochastic=churned,
        a1111=("Euler",),
        default_schedule="normal",
        comfy=("euler", "ddim"),
        aliases=("k_euler",),
    ),
    "euler_ancestral": Algorithm(
        "euler_ancestral",
        "Euler a",
        ALL,
        _ANCESTRAL,
        stochastic=with_eta(),
        a1111=("Euler a",),
        default_schedule="normal",
        comfy=("euler_ancestral",),
        aliases=("k_euler_a", "k_euler_ancestral", "Euler ancestral"),
    ),
    "heun": Algorithm(
        "heun",
        "Heun",
        ALL,
        CHURN,
        stochastic=churned,
        nfe_per_step=2.0,
        a1111=("Heun",),
        default_schedule="normal",
        comfy=("heun",),
        aliases=("k_heun",),
    ),
    "dpm_2": Algorithm(
        "dpm_2",
        "DPM2",
        ALL,
        {**CHURN, "discard_next_to_last_sigma": _DISCARD_ON},
        stochastic=churned,
        nfe_per_step=2.0,
        a1111=("DPM2",),
        default_schedule="karras",
        comfy=("dpm_2",),
        aliases=("k_dpm_2",),
    ),
    "dpm_2_ancestral": Algorithm(
        "dpm_2_ancestral",
        "DPM2 a",
        ALL,
        {**_ANCESTRAL, "discard_next_to_last_sigma": _DISCARD_ON},
        stochastic=with_eta(),
        nfe_per_step=2.0,
        a1111=("DPM2 a",),
        default_schedule="karras",
        comfy=("dpm_2_ancestral",),
        aliases=("k_dpm_2_a",),
    ),
    "lms": Algorithm(
        "lms",
        "LMS",
        ALL,
        {"order": Option(int, 4, "linear multistep order", minimum=1)},
        a1111=("LMS",),
        default_schedule="normal",
        comfy=("lms",),
        aliases=("k_lms",),
    ),
    "dpm_fast": Algorithm(
        "dpm_fast",
        "dpm_fast",
        ("exponential", *RANGE_SCHEDULES),
        {"eta": _ETA0, "s_noise": S_NOISE},
        stochastic=with_eta(0.0),
        default_schedule="exponential",
        comfy=("dpm_fast",),
        bare_comfy=False,
        note=_FAST_NOTE + _RANGE_NOTE,
    ),
    "dpm_fast_a1111": Algorithm(
        "dpm_fast",
        "DPM fast",
        ("exponential",),
        {"eta": _ETA0, "s_noise": S_NOISE},
        fixed={"eta": 1.0},
        stochastic=with_eta(0.0),
        a1111=("DPM fast",),
        default_schedule="exponential",
        aliases=("k_dpm_fast",),
        note=_FAST_NOTE + "; eta 1 as A1111",
    ),
    "dpm_adaptive": Algorithm(
        "dpm_adaptive",
        "dpm_adaptive",
        ("adaptive", *RANGE_SCHEDULES),
        _ADAPTIVE,
        stochastic=with_eta(0.0),
        nfe_per_step=None,
        default_schedule="adaptive",
        comfy=("dpm_adaptive",),
        bare_comfy=False,
        note=_ADAPTIVE_NOTE + _RANGE_NOTE,
    ),
    "dpm_adaptive_a1111": Algorithm(
        "dpm_adaptive",
        "DPM adaptive",
        ("adaptive",),
        _ADAPTIVE,
        fixed={"eta": 1.0},
        stochastic=with_eta(0.0),
        nfe_per_step=None,
        a1111=("DPM adaptive",),
        default_schedule="adaptive",
        aliases=("k_dpm_ad",),
        note=_ADAPTIVE_NOTE + "; eta 1 as A1111",
    ),
    "dpmpp_2s_ancestral": Algorithm(
        "dpmpp_2s_ancestral",
        "DPM++ 2S a",
        ALL,
        _ANCESTRAL,
        stochastic=with_eta(),
        nfe_per_step=2.0,
        a1111=("DPM++ 2S a",),
        default_schedule="karras",
        comfy=("dpmpp_2s_ancestral",),
        aliases=("k_dpmpp_2s_a",),
    ),
    "dpmpp_sde": Algorithm(
        "dpmpp_sde",
        "DPM++ SDE",
        ALL,
        {**_SDE, "r": Option(float, 0.5, "position of the intermediate step", minimum=0.0)},
        stochastic=with_eta(),
        nfe_per_step=2.0,
        a1111=("DPM++ SDE",),
        default_schedule="karras",
        comfy=("dpmpp_sde", "dpmpp_sde_gpu"),
        aliases=("k_dpmpp_sde",),
    ),
    "dpmpp_2m": Algorithm(
        "dpmpp_2m",
        "DPM++ 2M",
        ALL,
        a1111=("DPM++ 2M",),
        default_schedule="karras",
        comfy=("dpmpp_2m",),
        aliases=("k_dpmpp_2m",),
    ),
    "dpmpp_2m_sde": Algorithm(
        "dpmpp_2m_sde",
        "DPM++ 2M SDE",
        ALL,
        {**_SDE, "solver_type": _SOLVER},
        stochastic=with_eta(),
        a1111=("DPM++ 2M SDE",),
        default_schedule="exponential",
        comfy=("dpmpp_2m_sde", "dpmpp_2m_sde_gpu"),
        aliases=("k_dpmpp_2m_sde",),
    ),
    "dpmpp_2m_sde_heun": Algorithm(
        "dpmpp_2m_sde",
        "DPM++ 2M SDE Heun",
        ALL,
        {**_SDE, "solver_type": _SOLVER},
        fixed={"solver_type": "heun"},
        stochastic=with_eta(),
        a1111=("DPM++ 2M SDE Heun",),
        default_schedule="exponential",
        comfy=("dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu"),
        aliases=("k_dpmpp_2m_sde_heun",),
    ),
    "dpmpp_3m_sde": Algorithm(
        "dpmpp_3m_sde",
        "dpmpp_3m_sde",
        ALL,
        {**_SDE, "discard_next_to_last_sigma": DISCARD},
        stochastic=with_eta(),
        default_schedule="exponential",
        comfy=("dpmpp_3m_sde", "dpmpp_3m_sde_gpu"),
    ),
    "dpmpp_3m_sde_a1111": Algorithm(
        "dpmpp_3m_sde",
        "DPM++ 3M SDE",
        ALL,
        {**_SDE, "discard_next_to_last_sigma": DISCARD},
        fixed={"discard_next_to_last_sigma": True},
        stochastic=with_eta(),
        a1111=("DPM++ 3M SDE",),
        default_schedule="exponential",
        aliases=("k_dpmpp_3m_sde",),
    ),
}

#: the 13 functions of k_diffusion.sampling the family runs (tests check each one exists)
K_FUNCTIONS: tuple[str, ...] = tuple(dict.fromkeys(a.function for a in K_ALGORITHMS.values()))

#: functions whose batch images are coupled inside k-diffusion, so the adapter runs them image by image:
#: dpm_adaptive's step-size controller takes one error norm over the whole batch; the churn of
#: euler/heun/dpm_2 draws torch.randn_like(x) from the global generator.
PER_IMAGE: dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "dpm_adaptive": lambda options: True,
    "euler": churned,
    "heun": churned,
    "dpm_2": churned,
}
