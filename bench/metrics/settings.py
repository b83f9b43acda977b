"""The benchmark file's `metrics:`, `clip:` and `reference:` keys, and which metrics run on which model.

Parsers follow `bench.config`'s (value, key path, Where) convention so every error names the file, key
and line. Cross-field rules (a `clip:` with a `metrics:` list that lacks clip_score, a metric no model
of the benchmark can have...) are in `check_settings`, called once by `parse_config`.
No torch here: config parsing must stay light.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.metrics import METRICS, UNAVAILABLE, applies, default_metrics
from bench.metrics.clip_score import DEFAULT_MODEL, DEFAULT_PRETRAINED
from bench.validate import Where, as_int, as_list, as_mapping, as_str, unknown_key_message

#: the reference of non-analytic models: Heun (2nd order, deterministic, the EDM paper's ODE solver,
#: Karras et al. 2022) on the Karras schedule at 200 steps (399 evaluations): on SD its change from
#: 200 to 400 steps is far below the differences between samplers at usual step counts, at 40% of the
#: cost of 999-step DDIM (1st order), which the DPM-Solver++/UniPC papers use.
DEFAULT_REFERENCE_SAMPLER = "Heun Karras"
DEFAULT_REFERENCE_STEPS = 200
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


@dataclass(frozen=True)
class ClipSettings:
    """The open_clip model of clip_score: a model name and a pretrained tag or local weights file."""

    model: str = DEFAULT_MODEL
    pretrained: str = DEFAULT_PRETRAINED
    origin: str = field(default="clip", compare=False)  # "file:line: clip" for errors raised on load


@dataclass(frozen=True)
class ReferenceSettings:
    """The deterministic sampler and step count that make the reference of non-analytic models."""

    written: str
    spec: Any  # samplers.SamplerSpec
    steps: int


def parse_metrics(value: Any, path: tuple, where: Where) -> tuple[str, ...]:
    def one(item: Any, p: tuple) -> str:
        name = as_str(item, p, where, allow_empty=False)
        if name in UNAVAILABLE:
            raise where.error(p, f"{name} is not available: {UNAVAILABLE[name]}")
        if name not in METRICS:
            raise where.error(p, unknown_key_message(name, {k: "" for k in METRICS}).replace("key", "metric", 1))
        return name

    if value == []:
        return ()  # metrics: [] turns them off (a timing-only run)
    names = as_list(value, path, where, one)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise where.error(path + (i,), f"duplicate metric {name!r}")
    return names


def parse_clip(value: Any, path: tuple, where: Where) -> ClipSettings:
    as_mapping(value, path, where, {"model": "open_clip model name", "pretrained": "tag or weights file"})
    model = as_str(value.get("model", DEFAULT_MODEL), path + ("model",), where, allow_empty=False)
    pretrained = as_str(value.get("pretrained", DEFAULT_PRETRAINED), path + ("pretrained",), where, allow_empty=False)
    line = where.lines.get(path)
    origin = f"{where.file}:{line}: {'.'.join(map(str, path))}" if line else f"{where.file}: clip"
    return ClipSettings(model, pretrained, origin)


def parse_reference(value: Any, path: tuple, where: Where) -> ReferenceSettings:
    import samplers

    as_mapping(value, path, where, {"sampler": "a deterministic sampler name", "steps": "its steps"})
    written = as_str(value.get("sampler", DEFAULT_REFERENCE_SAMPLER), path + ("sampler",), where, allow_empty=False)
    try:
        spec = samplers.resolve(written)
    except samplers.SamplerError as exc:
        raise where.error(path + ("sampler",), str(exc)) from None
    if spec.stochastic:
        raise where.error(
            path + ("sampler",),
            f"{written!r} ({spec.id}) is stochastic: a reference "
            "must be deterministic (e.g. Heun Karras, DPM++ 2M Karras)",
        )
    steps = as_int(value.get("steps", DEFAULT_REFERENCE_STEPS), path + ("steps",), where, minimum=1)
    return ReferenceSettings(written, spec, steps)


def _looks_like_path(text: str) -> bool:
    return text.lower().endswith(_WEIGHT_SUFFIXES) or "/" in text or os.sep in text


def check_settings(values: dict[str, Any], where: Where, base: Path) -> dict[str, Any]:
    """Cross-field rules of metrics/clip/reference; returns `values` with clip.pretrained resolved
    against the benchmark file's folder when it is a relative file path."""
    kinds = sorted({model.kind for model in values["axes"]["model"]})
    requested, clip, reference = values.get("metrics"), values.get("clip"), values.get("reference")
    for i, name in enumerate(requested or ()):
        if not any(applies(name, kind) for kind in kinds):
            raise where.error(
                ("metrics", i),
                f"{name} needs the {' or '.join(METRICS[name].models)} "
                f"model; this benchmark's models: {', '.join(kinds)}",
            )
    if clip is not None and requested is not None and "clip_score" not in requested:
        raise where.error(
            ("clip",), "clip: is set but metrics: does not list clip_score; add clip_score to metrics: or remove clip:"
        )
    if reference is not None:
        if kinds == ["analytic"]:
            raise where.error(
                ("reference",),
                "the analytic model's reference is the exact probability-"
                "flow ODE solution; reference: applies to other models only",
            )
        if requested is not None and not {"ref_rmse", "ref_psnr"} & set(requested):
            raise where.error(
                ("reference",),
                "reference: is set but metrics: lists neither ref_rmse nor ref_psnr; add one or remove reference:",
            )
    if clip is not None and _looks_like_path(clip.pretrained) and not os.path.isabs(clip.pretrained):
        values = {**values, "clip": replace(clip, pretrained=str(base / clip.pretrained))}
    return values


def metrics_for(kind: str, config: Any) -> tuple[list[str], list[str]]:
    """(metrics to compute on a model of this kind, warnings for requested ones it cannot have)."""
    requested = getattr(config, "metrics", None)
    if requested is None:
        names = list(default_metrics(kind))
        if getattr(config, "clip", None) is not None and "clip_score" not in names:
            names.append("clip_score")
        if getattr(config, "reference", None) is not None and kind != "analytic":
            names += ["ref_rmse", "ref_psnr"]
        return names, []
    names = [n for n in requested if applies(n, kind)]
    skipped = [
        f"{n}: not measured on the {kind} model (it needs the {' or '.join(METRICS[n].models)} model)"
        for n in requested
        if not applies(n, kind)
    ]
    return names, skipped


SCHEMAS: dict[str, dict] = {
    "metrics": {"type": "array", "items": {"enum": list(METRICS)}, "uniqueItems": True},
    "clip": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"model": {"type": "string"}, "pretrained": {"type": "string"}},
    },
    "reference": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"sampler": {"type": "string"}, "steps": {"type": "integer", "minimum": 1}},
    },
}
