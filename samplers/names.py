"""Every name a sampler answers to, generated from the algorithm tables (no torch here).

For an algorithm on one schedule:
- the canonical id `family:function/schedule[?options]`,
- A1111 labels: the old combined ones ("DPM++ 2M Karras", "LMS Karras", "DPM2 a Karras") for every A1111
  schedule label, and for the Automatic schedule the bare label ("DPM++ 2M") and "<label> Automatic";
  A1111's internal names (k_dpmpp_2m) name the Automatic schedule too,
- ComfyUI `sampler_name/scheduler` pairs ("dpmpp_2m/karras"), and the bare sampler_name for the default
  (ComfyUI's "ddim" is Euler; bare "ddim" is A1111's DDIM),
- diffusers class names, bare (its default schedule) or as "Class/schedule", with or without "Scheduler",
- `family:function` alone for the default schedule.
The 1.9+ split form (sampler "DPM++ 2M" + schedule type "Karras") is resolved in `catalogue.resolve`.
"""

from __future__ import annotations

from samplers.algorithms import Algorithm
from samplers.k_table import BOUNDED
from samplers.schedule_names import ALL_SCHEDULES

#: ComfyUI gives dpm_fast/dpm_adaptive the schedule's first and last non-zero sigma; these schedules span
#: the model's whole range, so with them ComfyUI runs what these samplers run on their default schedule
FULL_RANGE = ("normal", "karras", "exponential", "kl_optimal")


def aliases(family: str, algo: Algorithm, schedule: str) -> tuple[list[str], list[str]]:
    """(names that say the schedule, bare names that mean the default schedule) of `algo` on `schedule`.

    Only a bare name may be combined with a separate schedule type (A1111 1.9+ "DPM++ 2M" + "Karras").
    """
    names: list[str] = [display_label(algo, schedule)] if schedule != algo.default_schedule else []
    bare: list[str] = []
    entry = ALL_SCHEDULES[schedule]
    is_default = schedule == algo.default_schedule
    for label in algo.a1111:
        if entry.a1111:
            names += [f"{label} {schedule_label}" for schedule_label in entry.labels]
        if is_default:
            bare += [label, f"{label} Automatic"]
    for comfy in algo.comfy:
        if algo.function in BOUNDED and is_default:  # ComfyUI passes only the sigma range: the model's
            names += [f"{comfy}/{s}" for s in FULL_RANGE]
        elif entry.comfy:
            names.append(f"{comfy}/{schedule}")
    if family == "diffusers" and not algo.fixed:
        names += [f"{alias}/{schedule}" for alias in algo.aliases]
    if is_default:
        bare += list(algo.aliases) + list(algo.comfy[:1] if algo.bare_comfy else ())
        if not algo.fixed:
            bare.append(f"{family}:{algo.function}")
    return names, bare


def display_label(algo: Algorithm, schedule: str) -> str:
    """The A1111-style label: the bare label on the default schedule, "<label> <Schedule>" otherwise."""
    if schedule == algo.default_schedule or len(algo.schedules) == 1:
        return algo.label
    return f"{algo.label} {ALL_SCHEDULES[schedule].labels[0]}"
