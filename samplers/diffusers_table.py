"""The diffusers family: SD-compatible scheduler classes, their options and names (no torch here).

Every scheduler is built from Stable Diffusion's scheduler config (scaled-linear betas 0.00085..0.012,
steps_offset 1, set_alpha_to_one false, skip_prk_steps true, clip_sample false: what a diffusers user
gets by swapping schedulers on SD 1.5), or from `trained_betas` when the model's schedule is another one.
The schedule id is the class's `timestep_spacing` (its own default unless chosen) or a `use_*_sigmas` flag;
options are the class's config arguments or its `step()` arguments (`target`).

The WebUI-only samplers resolve to their diffusers equivalents: A1111 "DDIM" is DDIM with leading spacing
and steps_offset 1 (A1111's timesteps 1, 1 + 1000//n, ...; eta 0), "PLMS" is PNDM without Runge-Kutta
warm-up (skip_prk_steps), "UniPC" is UniPC with A1111's defaults (bh1, order 3) on linspace timesteps
(A1111 uses its own UniPC code with time-uniform steps: the nearest diffusers equivalent), "LCM" is LCM.
EDMEuler and EDMDPMSolverMultistep take sigmas, not betas: they run on the model's sigma range (Karras or
exponential spacing), with sigma_data 1 and v-prediction, which is exactly SD's parametrisation in
sigma (c_in = 1/sqrt(sigma^2 + 1)); the adapter hands them the v its eps implies (`diffusers_schedulers`).
IPNDM is not here: its schedule is its own (noise std sin^2(pi s/2), from alpha = 0), not the model's.
"""

from __future__ import annotations

import math

from samplers.algorithms import Algorithm, Option, churned, with_eta

SPACINGS = ("leading", "linspace", "trailing")
SIGMA_FLAGS = {"karras": "use_karras_sigmas", "exponential": "use_exponential_sigmas", "beta_sigma": "use_beta_sigmas"}

#: Stable Diffusion's scheduler config, the base of every diffusers sampler here
SD_CONFIG = {
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "steps_offset": 1,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "clip_sample": False,
    "prediction_type": "epsilon",
}


def _cfg(kind: type, default, help_text: str = "", choices: tuple = (), minimum: float | None = None) -> Option:
    return Option(kind, default, help_text, choices, minimum, target="config")


def _step(kind: type, default, help_text: str = "", choices: tuple = (), minimum: float | None = None) -> Option:
    return Option(kind, default, help_text, choices, minimum, target="step")


OFFSET = {"steps_offset": _cfg(int, 1, "added to leading timesteps (SD config: 1)", minimum=0)}
THRESHOLD = {"thresholding": _cfg(bool, False, "dynamic thresholding of the predicted x0 (Imagen)")}
ORDER3 = (1, 2, 3)
_FINAL = _cfg(str, "zero", "last noise level: 0 or sigma_min", choices=("zero", "sigma_min"))
_DPM_COMMON = {
    "solver_order": _cfg(int, 2, "solver order", choices=ORDER3),
    "solver_type": _cfg(str, "midpoint", "second-order update", choices=("midpoint", "heun")),
    "final_sigmas_type": _FINAL,
    **THRESHOLD,
}


def _schedules(default: str, spacing: bool = True, sigmas: bool = True) -> tuple[str, ...]:
    rest = [s for s in SPACINGS if spacing and s != default] + (list(SIGMA_FLAGS) if sigmas else [])
    return (default, *rest)


def _sde(options) -> bool:
    return str(options.get("algorithm_type", "")).startswith("sde")


def _always(options) -> bool:
    return True


def _entry(cls: str, label: str, schedules: tuple[str, ...], options: dict | None = None, **kw) -> Algorithm:
    return Algorithm(
        cls, label, schedules, options or {}, default_schedule=schedules[0], aliases=(cls, f"{cls}Scheduler"), **kw
    )


DIFFUSERS_ALGORITHMS: dict[str, Algorithm] = {
    "DDIM": _entry(
        "DDIM",
        "DDIM",
        _schedules("leading", sigmas=False),
        {
            "eta": _step(float, 0.0, "DDIM eta: 0 deterministic, 1 DDPM-like", minimum=0.0),
            "set_alpha_to_one": _cfg(bool, False, "last step to abar = 1 instead of abar_0"),
            "clip_sample": _cfg(bool, False, "clip the predicted x0 to [-1, 1]"),
            **OFFSET,
            **THRESHOLD,
        },
        stochastic=with_eta(0.0),
        a1111=("DDIM",),
    ),
    "DDPM": _entry(
        "DDPM",
        "DDPM",
        _schedules("leading", sigmas=False),
        {
            "variance_type": _cfg(
                str,
                "fixed_small",
                "posterior variance",
                choices=("fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log"),
            ),
            "clip_sample": _cfg(bool, False, "clip the predicted x0 to [-1, 1]"),
            **OFFSET,
            **THRESHOLD,
        },
        stochastic=_always,
    ),
    "PNDM": _entry(
        "PNDM",
        "PLMS",
        _schedules("leading", sigmas=False),
        {
            "skip_prk_steps": _cfg(bool, True, "PLMS: no Runge-Kutta warm-up (SD config)"),
            "set_alpha_to_one": _cfg(bool, False, "last step to abar = 1 instead of abar_0"),
            **OFFSET,
        },
        a1111=("PLMS",),
        note="skip_prk_steps (SD config): PLMS, one extra evaluation on the first step",
    ),
    "LMSDiscrete": _entry(
        "LMSDiscrete",
        "LMS (diffusers)",
        _schedules("linspace"),
        {"order": _step(int, 4, "linear multistep order", minimum=1), **OFFSET},
    ),
    "EulerDiscrete": _entry(
        "EulerDiscrete",
        "Euler (diffusers)",
        _schedules("linspace"),
        {
            "s_churn": _step(float, 0.0, "stochastic churn", minimum=0.0),
            "s_tmin": _step(float, 0.0, "churn only for sigma >= s_tmin", minimum=0.0),
            "s_tmax": _step(float, math.inf, "churn only for sigma <= s_tmax", minimum=0.0),
            "s_noise": _step(float, 1.0, "churn noise scale", minimum=0.0),
            "interpolation_type": _cfg(str, "linear", "sigma between timesteps", choices=("linear", "log_linear")),
            "final_sigmas_type": _FINAL,
            **OFFSET,
        },
        stochastic=churned,
    ),
    "EulerAncestralDiscrete": _entry(
        "EulerAncestralDiscrete",
        "Euler a (diffusers)",
        _schedules("linspace", sigmas=False),
        dict(OFFSET),
        stochastic=_always,
    ),
    "HeunDiscrete": _entry("HeunDiscrete", "Heun (diffusers)", _schedules("linspace"), dict(OFFSET), nfe_per_step=2.0),
    "KDPM2Discrete": _entry(
        "KDPM2Discrete", "DPM2 (diffusers)", _schedules("linspace"), dict(OFFSET), nfe_per_step=2.0
    ),
    "KDPM2AncestralDiscrete": _entry(
        "KDPM2AncestralDiscrete",
        "DPM2 a (diffusers)",
        _schedules("linspace"),
        dict(OFFSET),
        stochastic=_always,
        nfe_per_step=2.0,
    ),
    "DPMSolverMultistep": _entry(
        "DPMSolverMultistep",
        "DPM++ 2M (diffusers)",
        _schedules("linspace"),
        {
            **_DPM_COMMON,
            "algorithm_type": _cfg(
                str,
                "dpmsolver++",
                "data (++) or noise prediction; sde- adds noise",
                choices=("dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver"),
            ),
            "lower_order_final": _cfg(bool, True, "first-order last steps below 15 steps"),
            "euler_at_final": _cfg(bool, False, "Euler for the last step"),
            "use_lu_lambdas": _cfg(bool, False, "Lu et al. uniform-logSNR steps"),
            "lambda_min_clipped": _cfg(float, -math.inf, "clip log-SNR for stability"),
            **OFFSET,
        },
        stochastic=_sde,
    ),
    "DPMSolverSinglestep": _entry(
        "DPMSolverSinglestep",
        "DPM++ 2S (diffusers)",
        _schedules("linspace", spacing=False),
        {
            **_DPM_COMMON,
            "algorithm_type": _cfg(
                str,
                "dpmsolver++",
                "data (++) or noise prediction; sde- adds noise",
                choices=("dpmsolver++", "dpmsolver", "sde-dpmsolver++"),
            ),
            "lower_order_final": _cfg(bool, False, "first-order last steps below 15 steps"),
        },
        stochastic=_sde,
        note="diffusers turns lower_order_final on for an odd number of steps",
    ),
    "DPMSolverSDE": _entry(
        "DPMSolverSDE",
        "DPM++ SDE (diffusers)",
        _schedules("linspace"),
        {"s_noise": _step(float, 1.0, "noise scale", minimum=0.0), **OFFSET},
        stochastic=_always,
        nfe_per_step=2.0,
    ),
    "DEISMultistep": _entry(
        "DEISMultistep",
        "DEIS",
        _schedules("linspace"),
        {
            "solver_order": _cfg(int, 2, "solver order", choices=ORDER3),
            "lower_order_final": _cfg(bool, True, "first-order last steps below 15 steps"),
            **OFFSET,
            **THRESHOLD,
        },
    ),
    "UniPCMultistep": _entry(
        "UniPCMultistep",
        "UniPC (diffusers)",
        _schedules("linspace"),
        {
            "solver_order": _cfg(int, 2, "solver order", choices=ORDER3),
            "solver_type": _cfg(
                str,
                "bh2",
                "B(h) variant (bh1 needs final_sigmas_type sigma_min: with a last "
                "step to 0, B(h) = h is infinite and diffusers returns NaN)",
                choices=("bh1", "bh2"),
            ),
            "lower_order_final": _cfg(bool, True, "first-order last steps below 15 steps"),
            "predict_x0": _cfg(bool, True, "data prediction (UniPC-p) or noise prediction"),
            "final_sigmas_type": _FINAL,
            **OFFSET,
            **THRESHOLD,
        },
    ),
    "LCM": _entry(
        "LCM",
        "LCM",
        ("lcm",),
        {
            "original_inference_steps": _cfg(int, 50, "the LCM training grid (steps may not exceed it)", minimum=1),
            "timestep_scaling": _cfg(float, 10.0, "consistency boundary-condition scaling", minimum=0.0),
        },
        stochastic=_always,
        a1111=("LCM",),
        note="for LCM-distilled models; steps <= original_inference_steps",
    ),
    "TCD": _entry(
        "TCD",
        "TCD",
        ("lcm",),
        {
            "eta": _step(float, 0.3, "TCD gamma: stochasticity of each step", minimum=0.0),
            "original_inference_steps": _cfg(int, 50, "the training grid (steps may not exceed it)", minimum=1),
        },
        stochastic=with_eta(0.3),
        note="for TCD-distilled models",
    ),
    "SASolver": _entry(
        "SASolver",
        "SA-Solver",
        _schedules("linspace"),
        {
            "predictor_order": _cfg(int, 2, "predictor order", choices=(1, 2, 3, 4)),
            "corrector_order": _cfg(int, 2, "corrector order", choices=(1, 2, 3, 4)),
            "algorithm_type": _cfg(
                str, "data_prediction", "parameterisation", choices=("data_prediction", "noise_prediction")
            ),
            "lower_order_final": _cfg(bool, True, "lower orders for the last steps"),
            **OFFSET,
        },
        stochastic=_always,
        note="diffusers' default tau: SDE noise for 200 <= t <= 800",
    ),
}

#: EDM-style classes (sigma grids, EDM preconditioning): run through `diffusers_schedulers.EdmBridge`
EDM = ("EDMEuler", "EDMDPMSolverMultistep")
_EDM_NOTE = "EDM preconditioning with sigma_data 1, v-prediction: fed the v the model's eps implies"
DIFFUSERS_ALGORITHMS["EDMEuler"] = _entry(
    "EDMEuler", "Euler (diffusers EDM)", ("karras", "exponential"), note=_EDM_NOTE
)
DIFFUSERS_ALGORITHMS["EDMDPMSolverMultistep"] = _entry(
    "EDMDPMSolverMultistep",
    "DPM++ 2M (EDM)",
    ("karras", "exponential"),
    {
        "solver_order": _cfg(int, 2, "solver order", choices=ORDER3),
        "solver_type": _cfg(str, "midpoint", "second-order update", choices=("midpoint", "heun")),
        "lower_order_final": _cfg(bool, True, "first-order last steps below 15 steps"),
        "euler_at_final": _cfg(bool, False, "Euler for the last step"),
        "final_sigmas_type": _FINAL,
    },
    note=_EDM_NOTE,
)

#: A1111's UniPC: its defaults (variant bh1, order 3, lower-order final) on diffusers' UniPC
DIFFUSERS_ALGORITHMS["UniPC_a1111"] = Algorithm(
    "UniPCMultistep",
    "UniPC",
    ("linspace",),
    DIFFUSERS_ALGORITHMS["UniPCMultistep"].options,
    fixed={"solver_order": 3, "solver_type": "bh1", "final_sigmas_type": "sigma_min"},
    default_schedule="linspace",
    a1111=("UniPC",),
    note="A1111 UniPC defaults (bh1, order 3, ending at sigma_min like A1111's t = 1/N)",
)
