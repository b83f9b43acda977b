"""The menus of ComfyUI, A1111/Forge and diffusers, entry by entry: what each runs here, or why it does not.

A declarative table (no torch): an entry covered here is a name `samplers.resolve` accepts; an entry not
covered carries its reason. `coverage()` checks every covered name by resolving it (ComfyUI samplers on
every ComfyUI scheduler), so the counts `bench samplers` prints are measured, not asserted. Upstream menus
as of ComfyUI 0.3 (KSampler), stable-diffusion-webui 1.10 / Forge, diffusers 0.42.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_NO_PAPER = "no published definition: ComfyUI's own (GPL) code is its only specification"

#: ComfyUI KSampler sampler_name -> None (covered: `name/<scheduler>` resolves) or why it is not
COMFY_SAMPLERS: dict[str, str | None] = {
    "euler": None,
    "euler_cfg_pp": None,
    "euler_ancestral": None,
    "euler_ancestral_cfg_pp": None,
    "heun": None,
    "heunpp2": _NO_PAPER,
    "exp_heun_2_x0": None,
    "exp_heun_2_x0_sde": None,
    "dpm_2": None,
    "dpm_2_ancestral": None,
    "lms": None,
    "dpm_fast": None,
    "dpm_adaptive": None,
    "dpmpp_2s_ancestral": None,
    "dpmpp_2s_ancestral_cfg_pp": None,
    "dpmpp_sde": None,
    "dpmpp_sde_gpu": None,
    "dpmpp_2m": None,
    "dpmpp_2m_cfg_pp": None,
    "dpmpp_2m_sde": None,
    "dpmpp_2m_sde_gpu": None,
    "dpmpp_2m_sde_heun": None,
    "dpmpp_2m_sde_heun_gpu": None,
    "dpmpp_3m_sde": None,
    "dpmpp_3m_sde_gpu": None,
    "ddpm": None,
    "lcm": None,
    "ipndm": None,
    "ipndm_v": None,
    "deis": None,
    "res_multistep": None,
    "res_multistep_cfg_pp": None,
    "res_multistep_ancestral": None,
    "res_multistep_ancestral_cfg_pp": None,
    "gradient_estimation": None,
    "gradient_estimation_cfg_pp": None,
    "er_sde": None,
    "seeds_2": None,
    "seeds_3": None,
    "sa_solver": None,
    "sa_solver_pece": None,
    "ddim": None,
    "uni_pc": None,
    "uni_pc_bh2": None,
}

COMFY_SCHEDULERS = (
    "simple",
    "sgm_uniform",
    "karras",
    "exponential",
    "ddim_uniform",
    "beta",
    "normal",
    "linear_quadratic",
    "kl_optimal",
)

#: ComfyUI gives these only the schedule's sigma range: on these schedulers, which span the model's whole
#: range, their pairs run the default (model-range) sampler; on the others the schedule's own range
RANGE_ONLY = {
    "dpm_fast": ("normal", "karras", "exponential", "kl_optimal"),
    "dpm_adaptive": ("normal", "karras", "exponential", "kl_optimal"),
}

#: A1111 / Forge sampler menu label -> None (covered: the label resolves) or why not
A1111_SAMPLERS: dict[str, str | None] = {
    "DPM++ 2M": None,
    "DPM++ SDE": None,
    "DPM++ 2M SDE": None,
    "DPM++ 2M SDE Heun": None,
    "DPM++ 2S a": None,
    "DPM++ 3M SDE": None,
    "Euler a": None,
    "Euler": None,
    "LMS": None,
    "Heun": None,
    "DPM2": None,
    "DPM2 a": None,
    "DPM fast": None,
    "DPM adaptive": None,
    "Restart": None,
    "DDIM": None,
    "DDIM CFG++": None,
    "PLMS": None,
    "UniPC": None,
    "LCM": None,
}

_AYS_PAGE = (
    "NVIDIA's AYS page (arXiv:2404.14507) publishes 10-step lists only, for SD 1.5, SDXL and SVD, and "
    "diffusers' AysSchedules carries just those"
)
#: A1111 schedule types whose label here names another schedule: `Beta` resolves to ComfyUI's `beta` (over
#: timesteps) as it always has in benchmark files; A1111's Beta (quantiles in sigma) is `beta_sigma`
A1111_AS = {"Beta": "beta_sigma"}
#: A1111 "Schedule type" label -> None (covered: `Euler` + that label resolves) or why not
A1111_SCHEDULES: dict[str, str | None] = {
    "Automatic": None,
    "Uniform": None,
    "Karras": None,
    "Exponential": None,
    "Polyexponential": None,
    "SGM Uniform": None,
    "KL Optimal": None,
    "Align Your Steps": None,
    "Simple": None,
    "Normal": None,
    "DDIM": None,
    "Beta": None,
    "Align Your Steps GITS": "GITS (Chen et al. 2024, arXiv:2405.11326) publishes no SD sigma list: its "
    "repository (zju-pi/diff-sampler, no licence) computes schedules by dynamic programming on warm-up "
    "samples, and its SD tables exist only as code in ComfyUI (GPL) and Forge (AGPL); not copied",
    "Align Your Steps 11": None,
    "Align Your Steps 32": "its 32-level list has no published source (" + _AYS_PAGE + "); it exists only "
    "as Forge's (AGPL) code; not copied, not guessed",
}

#: diffusers scheduler classes that apply to SD 1.x/2.x/XL -> None (covered) or why not
DIFFUSERS_SCHEDULERS: dict[str, str | None] = {
    **{
        c: None
        for c in (
            "DDIM",
            "DDPM",
            "PNDM",
            "LMSDiscrete",
            "EulerDiscrete",
            "EulerAncestralDiscrete",
            "HeunDiscrete",
            "KDPM2Discrete",
            "KDPM2AncestralDiscrete",
            "DPMSolverMultistep",
            "DPMSolverSinglestep",
            "DPMSolverSDE",
            "DEISMultistep",
            "UniPCMultistep",
            "LCM",
            "TCD",
            "SASolver",
        )
    },
    "EDMEuler": None,
    "EDMDPMSolverMultistep": None,
    "IPNDM": "its schedule is its own: noise std sin^2(pi s/2) at s = 1, 1 - 1/n, ..., 0, which starts at alpha 0 "
    "(sigma infinite, outside any model's range), its timesteps in (0, 1]; trained_betas replaces that per-step "
    "table (n + 1 entries, fixed for one n), not the model's betas; iPNDM itself is paper:ipndm (ComfyUI's ipndm)",
}


@dataclass
class Coverage:
    menu: str
    kind: str  # "samplers", "schedulers", "pairs"
    covered: int
    total: int
    missing: dict[str, str] = field(default_factory=dict)  # upstream name -> why

    def line(self) -> str:
        return f"{self.covered}/{self.total} {self.kind}"


def _check(menu: str, kind: str, table: dict[str, str | None], resolves) -> Coverage:
    out = Coverage(menu, kind, 0, len(table))
    for name, why in table.items():
        if why is None:
            resolves(name)  # a covered entry that does not resolve is a bug: let it raise
            out.covered += 1
        else:
            out.missing[name] = why
    return out


def comfy_pairs() -> Coverage:
    """Every (sampler_name, scheduler) pair of ComfyUI's KSampler: resolves, or why not."""
    import samplers

    covered = {n for n, why in COMFY_SAMPLERS.items() if why is None}
    out = Coverage("ComfyUI", "pairs", 0, len(COMFY_SAMPLERS) * len(COMFY_SCHEDULERS))
    for name in COMFY_SAMPLERS:
        for scheduler in COMFY_SCHEDULERS:
            if name in covered:
                samplers.resolve(f"{name}/{scheduler}")
                out.covered += 1
            else:
                out.missing[f"{name}/*"] = "the sampler is not covered"
    return out


def coverage() -> list[Coverage]:
    """The coverage of each menu, every covered entry resolved on the way."""
    import samplers
    from samplers.schedule_names import K_SCHEDULES

    return [
        _check("ComfyUI", "samplers", COMFY_SAMPLERS, lambda n: samplers.resolve(f"{n}/karras")),
        _check("ComfyUI", "schedulers", dict.fromkeys(COMFY_SCHEDULERS), lambda n: K_SCHEDULES[n]),
        comfy_pairs(),
        _check("A1111", "samplers", A1111_SAMPLERS, samplers.resolve),
        _check("A1111", "schedule types", A1111_SCHEDULES, lambda n: samplers.resolve("Euler", A1111_AS.get(n, n))),
        _check("diffusers", "schedulers", DIFFUSERS_SCHEDULERS, samplers.resolve),
    ]


def summary_lines(results: list[Coverage] | None = None) -> list[str]:
    """ "ComfyUI: 41/44 samplers, 9/9 schedulers, ...; A1111: ...", then each entry not covered and why."""
    results = coverage() if results is None else results
    menus: dict[str, list[Coverage]] = {}
    for c in results:
        menus.setdefault(c.menu, []).append(c)
    lines = ["; ".join(f"{menu}: " + ", ".join(c.line() for c in parts) for menu, parts in menus.items())]
    for c in results:
        if c.kind == "pairs":  # grouped: the schedulers a range-only sampler cannot take
            ranged: dict[str, list[str]] = {}
            for pair in c.missing:
                if not pair.endswith("/*"):
                    ranged.setdefault(pair.split("/")[0], []).append(pair.split("/")[1])
            lines += [
                f"  not covered, {c.menu} pairs {name}/{{{','.join(s)}}}: ComfyUI takes the sigma range "
                "from these schedules; here it is the model's"
                for name, s in ranged.items()
            ]
            continue
        lines += [f"  not covered, {c.menu} {c.kind.rstrip('s')} {name!r}: {why}" for name, why in c.missing.items()]
    return lines


def comfy_study_names() -> list[str]:
    """One ComfyUI `sampler_name/scheduler` pair per distinct sampler (examples/comfyui-menu.yaml)."""
    import samplers

    seen: set[str] = set()
    names = []
    for name, why in COMFY_SAMPLERS.items():
        for scheduler in COMFY_SCHEDULERS if why is None else ():
            spec = samplers.resolve(f"{name}/{scheduler}")
            if spec.id not in seen:
                seen.add(spec.id)
                names.append(f"{name}/{scheduler}")
    return names
