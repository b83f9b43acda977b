"""What an algorithm is, which options it takes, and how options become part of a canonical id.

Options are typed and checked here, without importing torch or the libraries, so a typo in a benchmark
file is a located config error before anything runs (STYLE.md 4: unknown keys are errors). Options equal
to their default are dropped from the id, so `eta: 1` and no eta name the same sampler and cell.
Tests check these tables against the installed libraries' signatures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from samplers.registry import SamplerError, did_you_mean


class BadOption(SamplerError):
    """An option that the sampler does not take, or a value of the wrong type or outside its choices."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


KIND_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


@dataclass(frozen=True)
class Option:
    """One option: its type, default and allowed values; `target` says where the adapter sends it."""

    kind: type  # bool, int, float or str
    default: Any
    help: str = ""
    choices: tuple = ()
    minimum: float | None = None
    target: str = "call"  # k: "call" (sampler function), "adapter"; diffusers: "config" or "step"

    def coerce(self, name: str, value: Any, where: str) -> Any:
        """The value as this option's type, or BadOption naming the option, the value and what is allowed."""
        allowed = f"one of {', '.join(map(repr, self.choices))}" if self.choices else KIND_WORDS[self.kind]
        bad = BadOption(
            f"{where}: option {name}={value!r} must be {allowed}"
            + (f" >= {self.minimum:g}" if self.minimum is not None else ""),
            name,
        )
        if self.kind is bool:
            if not isinstance(value, bool):
                raise bad
        elif self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise bad
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise bad
            value = float(value)
        elif not isinstance(value, str):
            raise bad
        if self.choices and value not in self.choices:
            raise bad
        if self.minimum is not None and value < self.minimum:
            raise bad
        return value


def _always(value: bool) -> Callable[[Mapping[str, Any]], bool]:
    return lambda options: value


@dataclass(frozen=True)
class Algorithm:
    """A sampling algorithm of one family, with every name a UI gives it.

    `function` is the library's name for it (k-diffusion `sample_<function>`, a diffusers class without
    "Scheduler"); `fixed` are options that make this entry what it is (A1111's "DPM++ 2M SDE Heun" is
    dpmpp_2m_sde with solver_type=heun). `stochastic(options)` says whether, with those options, the
    sampler draws noise of its own.
    """

    function: str
    label: str  # display name: the A1111 label where A1111 has one
    schedules: tuple[str, ...]  # schedule ids it runs on; the first is its default
    options: Mapping[str, Option] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    stochastic: Callable[[Mapping[str, Any]], bool] = _always(False)
    nfe_per_step: float | None = 1.0  # None: the solver chooses its own evaluations
    a1111: tuple[str, ...] = ()  # A1111 labels (the first one is the sampler menu entry)
    default_schedule: str = ""  # what a bare name means: A1111's "Automatic" where A1111 has the sampler
    comfy: tuple[str, ...] = ()  # ComfyUI sampler_name values (written `name/scheduler`)
    bare_comfy: bool = True  # the first ComfyUI name alone means the default schedule
    aliases: tuple[str, ...] = ()  # other names that mean this algorithm on its default schedule
    note: str = ""
    #: options (all of them, defaults filled in) -> what is wrong with them together, or None (e.g. r_1 < r_2)
    check: Callable[[Mapping[str, Any]], str | None] | None = None


def canonical_options(algo: Algorithm, given: Mapping[str, Any], where: str) -> tuple[tuple[str, Any], ...]:
    """`fixed` plus the user's options, type-checked, with defaults dropped, sorted: the id's `?a=b&c=d`."""
    merged: dict[str, Any] = dict(algo.fixed)
    for name, value in given.items():
        option = algo.options.get(name)
        if option is None:
            near = did_you_mean(name, algo.options, n=3)
            hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
            allowed = ", ".join(sorted(algo.options)) or "none"
            raise BadOption(f"{where}: unknown option {name!r}.{hint} Allowed: {allowed}", name)
        merged[name] = option.coerce(name, value, where)
    problem = algo.check(full_options(algo, merged)) if algo.check is not None else None
    if problem:
        raise BadOption(f"{where}: {problem}")
    kept = {k: v for k, v in merged.items() if k not in algo.options or v != algo.options[k].default}
    return tuple(sorted(kept.items()))


def full_options(algo: Algorithm, options: Mapping[str, Any]) -> dict[str, Any]:
    """Every option of `algo` with its value: defaults overlaid by `options` (what the adapter runs)."""
    return {**{k: o.default for k, o in algo.options.items()}, **options}


# -- option sets shared by several algorithms ---------------------------------------------------------------

S_NOISE = Option(float, 1.0, "scale of the noise the sampler adds", minimum=0.0)
ETA_ANCESTRAL = Option(float, 1.0, "ancestral noise: 0 is the ODE, 1 the full ancestral step", minimum=0.0)
CHURN = {
    "s_churn": Option(float, 0.0, "Karras et al. 2022 stochastic churn (0 = deterministic)", minimum=0.0),
    "s_tmin": Option(float, 0.0, "churn only for sigma >= s_tmin", minimum=0.0),
    "s_tmax": Option(float, math.inf, "churn only for sigma <= s_tmax", minimum=0.0),
    "s_noise": S_NOISE,
}
DISCARD = Option(
    bool,
    False,
    "compute steps+1 sigmas and drop the next-to-last (A1111 and ComfyUI do this for DPM2; A1111 for DPM++ 3M SDE)",
    target="adapter",
)


def churned(options: Mapping[str, Any]) -> bool:
    return options.get("s_churn", 0.0) > 0


def with_eta(default: float = 1.0) -> Callable[[Mapping[str, Any]], bool]:
    return lambda options: options.get("eta", default) > 0
