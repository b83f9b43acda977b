"""Every registered sampler and all its names, in one table per family (no torch imported here).

A sampler is one `SamplerSpec` (canonical id `family:algorithm/schedule[?options]`); the A1111 WebUI
labels, ComfyUI `sampler/scheduler` pairs and other names are aliases checked for collisions.
Adding a sampler is one row below; adding a family is one entry in `FAMILIES` and a module.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from samplers.base import SamplerSpec
from samplers.registry import Registry, UnknownName

#: family -> adapter, or "module:function" imported only when a sampler of that family first runs
FAMILIES: dict[str, Any] = {
    "k": "samplers.kdiffusion:sample",
}


@dataclass(frozen=True)
class Algorithm:
    """One sampling algorithm of a family, as the WebUI names it."""

    label: str  # A1111 label
    stochastic: bool = False
    nfe_per_step: float = 1.0
    auto_schedule: str = "normal"  # A1111's "Automatic" schedule type for this sampler


#: k-diffusion functions `k_diffusion.sampling.sample_<name>`
K_ALGORITHMS: dict[str, Algorithm] = {
    "euler": Algorithm("Euler"),
    "euler_ancestral": Algorithm("Euler a", stochastic=True),
    "heun": Algorithm("Heun", nfe_per_step=2.0),
    "dpmpp_2m": Algorithm("DPM++ 2M", auto_schedule="karras"),
}

#: schedule id -> A1111 "Schedule type" label
SCHEDULES: dict[str, str] = {
    "normal": "Uniform",  # the model's own discrete sigmas (A1111 "Uniform", k-diffusion get_sigmas)
    "karras": "Karras",
}

SAMPLERS: Registry[SamplerSpec] = Registry("sampler")


def _register_family(family: str, algorithms: Mapping[str, Algorithm]) -> None:
    for name, algo in algorithms.items():
        for schedule, schedule_label in SCHEDULES.items():
            spec = SamplerSpec(family, name, schedule, label=f"{algo.label} {schedule_label}",
                               stochastic=algo.stochastic, nfe_per_step=algo.nfe_per_step)
            aliases = [f"{name}/{schedule}", f"{algo.label} {schedule_label}"]
            if schedule == algo.auto_schedule:  # the bare WebUI label means its Automatic schedule
                aliases += [algo.label, name, f"{algo.label} Automatic"]
                spec = replace(spec, label=algo.label if schedule == "normal" else spec.label)
            SAMPLERS.add(spec.id, spec, tuple(aliases))


_register_family("k", K_ALGORITHMS)


def resolve(name: str, schedule: str | None = None, options: Mapping[str, Any] | None = None) -> SamplerSpec:
    """The sampler a user means by `name` (+ an A1111 "Schedule type" and options). Raises UnknownName."""
    spec = SAMPLERS.get(name)
    if schedule is not None:
        spec = SAMPLERS.get(f"{spec.family}:{spec.algorithm}/{_schedule_id(schedule)}")
    if options:
        spec = replace(spec, options=tuple(sorted(options.items())))
    return spec


def _schedule_id(schedule: str) -> str:
    wanted = schedule.strip().lower()
    for sid, label in SCHEDULES.items():
        if wanted in (sid, label.lower()):
            return sid
    raise UnknownName("schedule", schedule, [], [f"{sid} ({label})" for sid, label in SCHEDULES.items()])
