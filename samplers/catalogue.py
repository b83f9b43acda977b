"""Every registered sampler and all its names; `resolve` turns what a user wrote into one `SamplerSpec`.

A sampler is one algorithm (a row of `k_table` or `diffusers_table`) on one of its schedules; its
canonical id is `family:function/schedule[?options]` and `names.py` generates its aliases, all checked
for collisions as they are registered. Nothing here imports torch: names resolve in milliseconds.
Adding an algorithm is one row in a table; adding a family is one table and one entry in `FAMILIES`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from samplers.algorithms import Algorithm, BadOption, canonical_options, full_options
from samplers.base import SamplerSpec
from samplers.diffusers_table import DIFFUSERS_ALGORITHMS, SIGMA_FLAGS, SPACINGS
from samplers.k_table import K_ALGORITHMS, PER_IMAGE
from samplers.names import aliases, display_label
from samplers.plugins import USER_ALGORITHMS, register_entry_points
from samplers.registry import Registry, UnknownName, did_you_mean, normalise
from samplers.schedule_names import ALL_SCHEDULES
from samplers.solvers_table import EXTRA_ALIASES, PAPER_ALGORITHMS

#: family -> its adapter (`samplers.base.SampleFn`), imported only when a sampler of that family first runs
FAMILIES: Registry[Any] = Registry("sampler family")
FAMILIES.lazy("k", "samplers.kdiffusion:sample")
FAMILIES.lazy("diffusers", "samplers.diffusers_schedulers:sample")
FAMILIES.lazy("paper", "samplers.kdiffusion:sample")  # implemented here from the papers, k-diffusion's convention
FAMILIES.lazy("user", "samplers.kdiffusion:sample")  # the user's own functions (samplers.plugins)

#: family -> its algorithm table
TABLES: dict[str, Mapping[str, Algorithm]] = {
    "k": K_ALGORITHMS,
    "diffusers": DIFFUSERS_ALGORITHMS,
    "paper": PAPER_ALGORITHMS,
    "user": USER_ALGORITHMS,
}

SAMPLERS: Registry[SamplerSpec] = Registry("sampler")

_ALGORITHM: dict[str, Algorithm] = {}  # canonical id -> the algorithm it runs
_ON_SCHEDULE: dict[tuple[int, str], SamplerSpec] = {}  # (id(algorithm), schedule) -> registered spec
_BARE: set[str] = set()  # normalised names that mean "the default schedule" and so take a schedule type


def _register(family: str, algo: Algorithm) -> None:
    fixed = canonical_options(algo, {}, f"{family} table")
    for schedule in algo.schedules:
        spec = SamplerSpec(
            family,
            algo.function,
            schedule,
            fixed,
            label=display_label(algo, schedule),
            stochastic=algo.stochastic(full_options(algo, dict(fixed))),
            nfe_per_step=algo.nfe_per_step,
            note=algo.note,
        )
        names, bare = aliases(family, algo, schedule)
        SAMPLERS.add(spec.id, spec, tuple(names + bare))
        _ALGORITHM[spec.id] = algo
        _ON_SCHEDULE[(id(algo), schedule)] = spec
        _BARE.update(normalise(n) for n in bare)


for _family, _table in TABLES.items():
    for _algo in _table.values():
        _register(_family, _algo)
for _alias, _canonical in EXTRA_ALIASES.items():
    SAMPLERS.alias(_alias, _canonical)


def register(family: str, algo: Algorithm) -> None:
    """Register one more algorithm of `family` on all its schedules (a user's function, samplers.plugins);
    all or nothing: a name another sampler has raises ValueError before anything is registered."""
    for schedule in algo.schedules:
        names, bare = aliases(family, algo, schedule)
        spec_id = SamplerSpec(family, algo.function, schedule, canonical_options(algo, {}, family)).id
        for name in (spec_id, *names, *bare):
            owner = SAMPLERS.canonical(name)
            if owner is not None and owner != spec_id:
                raise ValueError(f"sampler alias {name!r} already names {owner!r}")
    _register(family, algo)


register_entry_points()


def algorithm_of(spec: SamplerSpec) -> Algorithm | None:
    """The table row a spec runs: its options, targets and noise (None outside the tables, e.g. tests)."""
    if spec.id in _ALGORITHM:
        return _ALGORITHM[spec.id]
    given = dict(spec.options)
    for algo in TABLES.get(spec.family, {}).values():
        if algo.function == spec.algorithm and all(given.get(k) == v for k, v in algo.fixed.items()):
            return algo
    return None


def resolve(name: str, schedule: str | None = None, options: Mapping[str, Any] | None = None) -> SamplerSpec:
    """The sampler a user means by `name` (+ an A1111 "Schedule type" and options).

    Raises UnknownName (with the nearest names) or BadOption (naming the option and what is allowed).
    """
    query = ""
    if "?" in name and name not in SAMPLERS:  # an id may carry options: "k:euler/normal?s_churn=1.0"
        name, _, query = name.partition("?")
    spec = SAMPLERS.get(name)
    algo = _ALGORITHM.get(spec.id)
    if query and algo is not None:
        options = {**_parse_query(algo, query, name), **(options or {})}
    if algo is None:  # registered from outside the tables: no schedules or options to apply
        if schedule is not None or options:
            raise BadOption(f"sampler {name!r} takes no schedule or options")
        return spec
    options = dict(options or {})
    if spec.family == "diffusers":
        schedule = _fold_diffusers_schedule(name, schedule, options)
    if schedule is not None:
        wanted = _schedule_id(schedule, algo, name)
        if wanted != spec.schedule and normalise(name) not in _BARE:
            raise BadOption(
                f"sampler {name!r} already names schedule {spec.schedule!r}; give schedule "
                f"{schedule!r} with the bare sampler name {algo.label!r}",
                "schedule",
            )
        spec = _ON_SCHEDULE[(id(algo), wanted)]
    if options:
        merged = {**dict(spec.options), **options}
        canonical = canonical_options(algo, merged, f"sampler {name!r}")
        spec = replace(spec, options=canonical, stochastic=algo.stochastic(full_options(algo, dict(canonical))))
        _ALGORITHM.setdefault(spec.id, algo)
    return spec


#: family -> function -> options -> whether the library couples the images of a batch
ONE_BY_ONE: dict[str, Mapping[str, Any]] = {"k": PER_IMAGE}


def runs_one_by_one(spec: SamplerSpec) -> bool:
    """Whether the adapter runs a batch image by image (it then needs `SampleTask.eps_single`)."""
    rule = ONE_BY_ONE.get(spec.family, {}).get(spec.algorithm)
    if rule is None:
        return False
    algo = algorithm_of(spec)
    return bool(rule(full_options(algo, spec.option_dict) if algo else spec.option_dict))


def _parse_query(algo: Algorithm, query: str, name: str) -> dict[str, Any]:
    """`a=1&b=true` -> typed options, by each option's kind (the inverse of `SamplerSpec.id`)."""
    out: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        key, sep, text = part.partition("=")
        option = algo.options.get(key)
        if not sep or option is None:
            allowed = ", ".join(sorted(algo.options)) or "none"
            raise BadOption(f"sampler {name!r}: bad option {part!r} in the id. Allowed: {allowed}", key)
        out[key] = _PARSE[option.kind](text)
    return out


_WORDS = {"true": True, "false": False}


def _number(kind: type):
    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            return text  # coerce() then names the bad value

    return parse


_PARSE = {
    bool: lambda text: _WORDS.get(text.lower(), text),
    int: _number(int),
    float: _number(float),
    str: lambda text: text,
}


def _schedule_id(schedule: str, algo: Algorithm, name: str) -> str:
    wanted = normalise(schedule)
    if wanted == "automatic":
        return algo.default_schedule
    # ids before labels, so that every name that resolved before resolves the same (cell ids and baselines
    # depend on it): `beta` and `Beta` stay ComfyUI's `beta`; A1111's "Beta" is `beta_sigma` / "Beta (sigmas)"
    for sid in algo.schedules:
        if wanted == normalise(sid):
            return sid
    for sid in algo.schedules:
        if wanted in {normalise(label) for label in ALL_SCHEDULES[sid].labels}:
            return sid
    shown = [f"{sid} ({ALL_SCHEDULES[sid].labels[0]})" for sid in algo.schedules]
    others = [sid for sid in ALL_SCHEDULES if wanted in {normalise(sid), *map(normalise, ALL_SCHEDULES[sid].labels)}]
    why = f"{algo.label!r} does not run on schedule {schedule!r}" if others else f"unknown schedule {schedule!r}"
    near = did_you_mean(
        schedule, [n for sid in algo.schedules for n in (*ALL_SCHEDULES[sid].labels, sid)], n=2, cutoff=0.6
    )
    hint = f" Did you mean {', '.join(map(repr, near))}?" if near else ""
    error = UnknownName("schedule", schedule, near, shown)
    error.args = (f"{why} (sampler {name!r}).{hint} Allowed: {', '.join(shown)}, Automatic",)
    error.key = "schedule"
    raise error


def _fold_diffusers_schedule(name: str, schedule: str | None, options: dict[str, Any]) -> str | None:
    """diffusers writes the schedule as options (`use_karras_sigmas: true`, `timestep_spacing`): fold them."""
    chosen: list[tuple[str, str]] = []
    for sid, flag in SIGMA_FLAGS.items():
        if flag in options:
            value = options.pop(flag)
            if not isinstance(value, bool):
                raise BadOption(f"sampler {name!r}: option {flag}={value!r} must be true or false", flag)
            if value:
                chosen.append((flag, sid))
    if "timestep_spacing" in options:
        spacing = options.pop("timestep_spacing")
        if spacing not in SPACINGS:
            raise BadOption(
                f"sampler {name!r}: option timestep_spacing={spacing!r} must be one of "
                f"{', '.join(map(repr, SPACINGS))}",
                "timestep_spacing",
            )
        chosen.append(("timestep_spacing", spacing))
    if schedule is not None:
        chosen.append(("schedule", schedule))
    if len(chosen) > 1:
        raise BadOption(
            f"sampler {name!r}: {' and '.join(k for k, _ in chosen)} each choose the schedule; give one", chosen[1][0]
        )
    return chosen[0][1] if chosen else None
