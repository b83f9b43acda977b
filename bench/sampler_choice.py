"""A benchmark file's `samplers:` entries: a name (any alias `bench samplers` lists), a mapping with a schedule
and options, or the user's own function; each resolved now, so a typo is an error at its line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.validate import Where, as_list, as_mapping, as_str


@dataclass(frozen=True)
class SamplerChoice:
    """A sampler as the user wrote it, and what it resolved to."""

    written: str
    spec: Any  # samplers.SamplerSpec


def parse_sampler(v: Any, p: tuple, w: Where) -> SamplerChoice:
    import samplers

    if isinstance(v, dict) and "function" in v:  # the user's own function (samplers.plugins)
        unknown = sorted(set(v) - {"function", "schedule", "label"})
        if unknown:
            raise w.error(p + (unknown[0],), "a function: sampler takes only function:, schedule: and label:")
        texts = {k: as_str(v[k], p + (k,), w, allow_empty=False) for k in ("function", "schedule", "label") if k in v}
        try:
            spec = samplers.user_sampler(
                texts["function"], texts.get("schedule"), texts.get("label"), Path(w.file).resolve().parent
            )
        except samplers.SamplerError as exc:
            raise w.error(p + (getattr(exc, "key", None) or "function",), str(exc)) from None
        return SamplerChoice(texts.get("label", texts["function"]), spec)
    if isinstance(v, dict):
        as_mapping(v, p, w)
        if "name" not in v:
            raise w.error(p, "a sampler mapping needs name: (or function:) and may give schedule: and options")
        name = as_str(v["name"], p + ("name",), w, allow_empty=False)
        schedule = as_str(v["schedule"], p + ("schedule",), w) if "schedule" in v else None
        options = {k: val for k, val in v.items() if k not in ("name", "schedule")}
    else:
        name, schedule, options = as_str(v, p, w, allow_empty=False), None, {}
    try:
        spec = samplers.resolve(name, schedule, options)
    except samplers.SamplerError as exc:  # unknown name or schedule, bad option: point at the key at fault
        key = getattr(exc, "key", None)
        at = p + (key,) if isinstance(v, dict) and key in v else p
        raise w.error(at, str(exc)) from None
    details = ([schedule] if schedule is not None else []) + [f"{k}={val}" for k, val in options.items()]
    return SamplerChoice(f"{name} ({', '.join(details)})" if details else name, spec)


def parse_samplers(v: Any, p: tuple, w: Where) -> tuple[SamplerChoice, ...]:
    choices = as_list(v, p, w, lambda x, q: parse_sampler(x, q, w), scalar_ok=False)
    seen: dict[str, int] = {}
    for i, choice in enumerate(choices):
        if choice.spec.id in seen:
            first = choices[seen[choice.spec.id]].written
            raise w.error(
                p + (i,),
                f"{choice.written!r} is the same sampler ({choice.spec.id}) as "
                f"samplers[{seen[choice.spec.id]}] {first!r}",
            )
        seen[choice.spec.id] = i
    return choices
