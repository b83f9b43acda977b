"""The "paper" family: samplers implemented here from their papers (samplers/solvers_*.py), no torch here.

They take k-diffusion's calling convention and run through the k-diffusion adapter (same denoiser wrapper,
schedules, starting noise and per-image noise), so a row here is all it takes to add one. They are written
from the papers cited in each function's docstring, never from ComfyUI's or A1111's code; the ComfyUI
sampler_name of each is its alias (`ipndm/karras`). Ids: `paper:<function>/<schedule>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from samplers.algorithms import ETA_ANCESTRAL, S_NOISE, Algorithm, Option, with_eta
from samplers.schedule_names import K_SCHEDULES

ALL = tuple(K_SCHEDULES)


@dataclass(frozen=True)
class Runs:
    """Where a function lives and what the adapter gives it: its own noise ("ancestral": one CPU generator
    per image), and whether it needs the unconditional prediction (`denoise_pair`, CFG++)."""

    path: str  # "module:function"
    noise: str | None = None
    pair: bool = False


def _always(options) -> bool:
    return True


_ANC = {"eta": ETA_ANCESTRAL, "s_noise": S_NOISE}
_GAMMA = {"ge_gamma": Option(float, 2.0, "weight of the newest slope (gamma; 1 is Euler)")}


def _row(
    function: str,
    label: str,
    options: dict | None = None,
    nfe: float | None = 1.0,
    stochastic=None,
    bare: bool = True,
    note: str = "",
    comfy: bool = True,
    a1111: tuple[str, ...] = (),
    schedules: tuple[str, ...] = ALL,
    check=None,
) -> Algorithm:
    return Algorithm(
        function,
        label,
        schedules,
        options or {},
        stochastic=stochastic or (lambda o: False),
        nfe_per_step=nfe,
        default_schedule="karras",
        comfy=(function,) if comfy else (),
        bare_comfy=bare,
        a1111=a1111,
        note=note,
        check=check,
    )


_SA = {
    "eta": Option(float, 1.0, "noise scale tau inside the SDE window (0: the ODE, 1: the reverse SDE)", minimum=0.0),
    "s_noise": S_NOISE,
    "predictor_order": Option(int, 3, "SA-Predictor (Adams-Bashforth) order", choices=(1, 2, 3, 4, 5, 6)),
    "corrector_order": Option(int, 4, "SA-Corrector (Adams-Moulton) order; 0: none", choices=(0, 1, 2, 3, 4, 5, 6)),
    "sde_start_percent": Option(float, 0.2, "tau = eta from this fraction of the model's schedule", minimum=0.0),
    "sde_end_percent": Option(float, 0.8, "to this one (tau = 0 outside)", minimum=0.0),
    "lower_order_final": Option(bool, True, "orders at most the steps left (diffusers' default; steadier below 15)"),
}


def _sa_stochastic(options) -> bool:
    return (
        options.get("eta", 1.0) > 0
        and options.get("s_noise", 1.0) > 0
        and options.get("sde_end_percent", 0.8) > options.get("sde_start_percent", 0.2)
    )


def _eta_and_noise(options) -> bool:
    return options.get("eta", 1.0) > 0 and options.get("s_noise", 1.0) > 0


_SEEDS_2 = {
    "eta": Option(float, 1.0, "SDE noise: 0 is the probability-flow ODE, 1 the reverse SDE", minimum=0.0),
    "s_noise": S_NOISE,
    "r": Option(float, 0.5, "the stage's fraction of the step in lambda (0 < r <= 1)", minimum=0.0),
    "solver_type": Option(
        str,
        "phi_1",
        "phi_1: D_s and D_1 weighed inside phi_1 (DPM-Solver-2); phi_2: a phi_2 / r correction",
        choices=("phi_1", "phi_2"),
    ),
}
_SEEDS_3 = {
    "eta": _SEEDS_2["eta"],
    "s_noise": S_NOISE,
    "r_1": Option(float, 1 / 3, "first stage's fraction of the step in lambda (0 < r_1 < r_2)", minimum=0.0),
    "r_2": Option(float, 2 / 3, "second stage's fraction of the step (r_1 < r_2 < 1; 2/3: order 3)", minimum=0.0),
}


def check_seeds_2(options) -> str | None:
    """What is wrong with SEEDS-2's options (None: nothing); also checked by the function itself."""
    r, solver_type = options.get("r", 0.5), options.get("solver_type", "phi_1")
    if solver_type not in ("phi_1", "phi_2"):
        return f"option solver_type={solver_type!r} must be phi_1 or phi_2"
    return None if 0 < r <= 1 else f"option r={r!r} must be in (0, 1]"


def check_seeds_3(options) -> str | None:
    r_1, r_2 = options.get("r_1", 1 / 3), options.get("r_2", 2 / 3)
    return None if 0 < r_1 < r_2 < 1 else f"options r_1={r_1!r}, r_2={r_2!r} must satisfy 0 < r_1 < r_2 < 1"


_CFGPP = "CFG++: needs the unconditional prediction; the CFG scale is the paper's lambda (about 0.5-2)"

PAPER_ALGORITHMS: dict[str, Algorithm] = {
    "ipndm": _row("ipndm", "iPNDM", {"max_order": Option(int, 4, "Adams-Bashforth order", choices=(1, 2, 3, 4))}),
    "ipndm_v": _row("ipndm_v", "iPNDM-v", {"max_order": Option(int, 4, "Adams-Bashforth order", choices=(1, 2, 3, 4))}),
    "deis": _row("deis", "DEIS (tAB)", {"max_order": Option(int, 3, "polynomial order", choices=(1, 2, 3, 4))}),
    "res_multistep": _row("res_multistep", "RES multistep"),
    "res_multistep_ancestral": _row("res_multistep_ancestral", "RES multistep a", _ANC, stochastic=with_eta()),
    "gradient_estimation": _row("gradient_estimation", "Gradient estimation", _GAMMA),
    "exp_heun_2_x0": _row("exp_heun_2_x0", "Exponential Heun 2 x0", nfe=2.0),
    "exp_heun_2_x0_sde": _row("exp_heun_2_x0_sde", "Exponential Heun 2 x0 SDE", _ANC, nfe=2.0, stochastic=with_eta()),
    "seeds_2": _row("seeds_2", "SEEDS-2", _SEEDS_2, nfe=2.0, stochastic=_eta_and_noise, check=check_seeds_2),
    "seeds_3": _row("seeds_3", "SEEDS-3", _SEEDS_3, nfe=3.0, stochastic=_eta_and_noise, check=check_seeds_3),
    "uni_pc": _row("uni_pc", "UniPC (bh1)", {"order": Option(int, 3, "UniPC order p", choices=(1, 2, 3))}),
    "uni_pc_bh2": _row("uni_pc_bh2", "UniPC (bh2)", {"order": Option(int, 3, "UniPC order p", choices=(1, 2, 3))}),
    # bare "ddpm" and "lcm" are diffusers' DDPM and LCM (A1111's LCM): ComfyUI's are the pairs (ddpm/karras)
    "ddpm": _row("ddpm", "DDPM sampler", stochastic=_always, bare=False),
    "lcm": _row("lcm", "LCM sampler", stochastic=_always, bare=False, note="for consistency-distilled models"),
    "restart": _row(
        "restart",
        "Restart",
        {
            "s_noise": S_NOISE,
            "restart_t_min": Option(float, 0.1, "low end of the restart interval (sigma)", minimum=0.0),
            "restart_t_max": Option(float, 2.0, "high end of the restart interval (sigma)", minimum=0.0),
            "restart_k": Option(int, 2, "restarts in the interval", minimum=0),
            "restart_steps": Option(int, 3, "Heun steps back down the interval", minimum=1),
        },
        nfe=None,
        stochastic=lambda o: o.get("restart_k", 2) > 0 and o.get("s_noise", 1.0) > 0,
        comfy=False,
        a1111=("Restart",),
        schedules=tuple(s for s in ALL if s != "linear_quadratic"),
        note="Heun + restart_k x restart_steps Heun steps once the schedule reaches restart_t_min; A1111's own "
        "choice of intervals is not documented. Not on linear_quadratic: for SD it stops above 2",
    ),
    "er_sde": _row(
        "er_sde",
        "ER-SDE 3",
        {
            "s_noise": S_NOISE,
            "max_order": Option(int, 3, "solver order", choices=(1, 2, 3)),
            "noise_scale": Option(
                str,
                "er",
                "noise scale function: the paper's (er), sigma (ode: the ODE), sigma^2 (ancestral)",
                choices=("er", "ode", "ancestral"),
            ),
        },
        stochastic=lambda o: o.get("noise_scale", "er") != "ode" and o.get("s_noise", 1.0) > 0,
    ),
    "sa_solver": _row("sa_solver", "SA-Solver PC", _SA, stochastic=_sa_stochastic),
    "sa_solver_pece": _row("sa_solver_pece", "SA-Solver PECE", _SA, nfe=2.0, stochastic=_sa_stochastic),
    "euler_cfg_pp": _row("euler_cfg_pp", "Euler CFG++", note=_CFGPP),
    "euler_ancestral_cfg_pp": _row("euler_ancestral_cfg_pp", "Euler a CFG++", _ANC, stochastic=with_eta(), note=_CFGPP),
    "dpmpp_2s_ancestral_cfg_pp": _row(
        "dpmpp_2s_ancestral_cfg_pp", "DPM++ 2S a CFG++", _ANC, nfe=2.0, stochastic=with_eta(), note=_CFGPP
    ),
    "dpmpp_2m_cfg_pp": _row("dpmpp_2m_cfg_pp", "DPM++ 2M CFG++", note=_CFGPP),
    "res_multistep_cfg_pp": _row("res_multistep_cfg_pp", "RES multistep CFG++", note=_CFGPP),
    "res_multistep_ancestral_cfg_pp": _row(
        "res_multistep_ancestral_cfg_pp", "RES multistep a CFG++", _ANC, stochastic=with_eta(), note=_CFGPP
    ),
    "gradient_estimation_cfg_pp": _row("gradient_estimation_cfg_pp", "Gradient estimation CFG++", _GAMMA, note=_CFGPP),
}

_MODULE = {
    "restart": ("restart",),
    "solvers_sde": ("er_sde",),
    "solvers_sa": ("sa_solver", "sa_solver_pece"),
    "solvers_multistep": ("ipndm", "ipndm_v", "deis", "res_multistep", "res_multistep_ancestral"),
    "solvers_misc": ("gradient_estimation", "exp_heun_2_x0", "exp_heun_2_x0_sde", "ddpm", "lcm"),
    "solvers_seeds": ("seeds_2", "seeds_3"),
    "solvers_unipc": ("uni_pc", "uni_pc_bh2"),
    "solvers_cfgpp": tuple(f for f in PAPER_ALGORITHMS if f.endswith("_cfg_pp")),
}
_NOISE = {
    f: "ancestral"
    for f, a in PAPER_ALGORITHMS.items()
    if "eta" in a.options or f in ("ddpm", "lcm", "restart", "er_sde")
}

#: function -> how the adapter runs it
PAPER_FUNCTIONS: dict[str, Runs] = {
    f: Runs(f"samplers.{module}:sample_{f}", _NOISE.get(f), f.endswith("_cfg_pp"))
    for module, functions in _MODULE.items()
    for f in functions
}

#: names that mean one of these on a given schedule (A1111's DDIM CFG++ runs on DDIM's timesteps)
EXTRA_ALIASES: dict[str, str] = {"DDIM CFG++": "paper:euler_cfg_pp/ddim_uniform"}
