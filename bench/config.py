"""The benchmark file: YAML validated into a frozen, typed `Config` (STYLE.md 4).

Every top-level key is one row of `FIELDS` (parser, default, help, JSON Schema), so the validator, the
defaults and `bench schema` cannot drift apart. Unknown keys are errors: a typo silently ignored would
corrupt a study. Any of cfg_scale, clip_skip, size, negative_prompt, model given as a list is an axis.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from bench.errors import ConfigError
from bench.metrics import quality_settings
from bench.metrics import settings as metric_settings
from bench.models import ModelSpec, parse_model
from bench.prompt_suites import SCHEMA as PROMPTS_SCHEMA
from bench.prompt_suites import parse_prompts
from bench.validate import (Where, as_float, as_int, as_list, as_mapping, as_str, type_name,
                            unknown_key_message)
from bench.yamlsource import load_yaml


@dataclass(frozen=True)
class SamplerChoice:
    """A sampler as the user wrote it, and what it resolved to."""

    written: str
    spec: Any  # samplers.SamplerSpec


@dataclass(frozen=True)
class Config:
    name: str
    models: tuple[ModelSpec, ...]
    prompts: tuple[str, ...]
    negative_prompts: tuple[str, ...]
    seeds: tuple[int, ...]
    samplers: tuple[SamplerChoice, ...]
    steps: tuple[int, ...]
    cfg_scales: tuple[float, ...]
    sizes: tuple[tuple[int, int], ...]  # (width, height)
    clip_skips: tuple[int, ...]
    repeats: int
    batch_size: int
    output: Path
    metrics: tuple[str, ...] | None = None  # None: the defaults of each model (bench.metrics)
    clip: Any = None  # bench.metrics.settings.ClipSettings
    reference: Any = None  # bench.metrics.settings.ReferenceSettings
    quality: Any = None  # bench.metrics.quality_settings.QualitySettings (None: the published defaults)
    offline: bool = field(default=False, compare=False)  # `bench run --offline`: metric weights from the cache only
    source: Path | None = field(default=None, compare=False)
    check: dict[str, Any] = field(default_factory=dict, compare=False)  # `bench check` tolerances


Parser = Callable[[Any, tuple, Where], Any]


@dataclass(frozen=True)
class Field:
    attr: str
    parse: Parser
    default: Any
    help: str
    schema: dict


def _seed(v: Any, p: tuple, w: Where) -> int:
    return as_int(v, p, w, minimum=0, maximum=2**63 - 1)


def _size(v: Any, p: tuple, w: Where) -> tuple[int, int]:
    if not (isinstance(v, list) and len(v) == 2):
        raise w.error(p, f"a size is [width, height], got {v!r}")
    return (as_int(v[0], p + (0,), w, minimum=8), as_int(v[1], p + (1,), w, minimum=8))


def _sizes(v: Any, p: tuple, w: Where) -> tuple[tuple[int, int], ...]:
    if isinstance(v, list) and v and all(isinstance(s, list) for s in v):
        return tuple(_size(s, p + (i,), w) for i, s in enumerate(v))
    return (_size(v, p, w),)


def _sampler(v: Any, p: tuple, w: Where) -> SamplerChoice:
    import samplers

    if isinstance(v, dict):
        as_mapping(v, p, w)
        if "name" not in v:
            raise w.error(p, "a sampler mapping needs name: (and may give schedule: and options)")
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


def _samplers(v: Any, p: tuple, w: Where) -> tuple[SamplerChoice, ...]:
    choices = as_list(v, p, w, lambda x, q: _sampler(x, q, w), scalar_ok=False)
    seen: dict[str, int] = {}
    for i, choice in enumerate(choices):
        if choice.spec.id in seen:
            first = choices[seen[choice.spec.id]].written
            raise w.error(p + (i,), f"{choice.written!r} is the same sampler ({choice.spec.id}) as "
                                    f"samplers[{seen[choice.spec.id]}] {first!r}")
        seen[choice.spec.id] = i
    return choices


def _unique(parse: Parser) -> Parser:
    def check(v: Any, p: tuple, w: Where) -> tuple:
        values = parse(v, p, w)
        for i, item in enumerate(values):
            if item in values[:i]:
                raise w.error(p + (i,), f"duplicate value {item!r}")
        return values
    return check


def _list_of(item: Parser, scalar_ok: bool = True) -> Parser:
    return _unique(lambda v, p, w: as_list(v, p, w, lambda x, q: item(x, q, w), scalar_ok=scalar_ok))


def _check(v: Any, p: tuple, w: Where) -> dict[str, Any]:
    """The benchmark's own regression gate (bench.check.tolerances), saved in the run's meta."""
    from bench.check.tolerances import nest, parse_section

    return nest(parse_section(v, lambda path, message: w.error(path, message), p))


_STR = {"type": "string"}
_INT1 = {"type": "integer", "minimum": 1}


def _axis(item: dict) -> dict:
    return {"oneOf": [item, {"type": "array", "items": item, "minItems": 1}]}


_SIZE = {"type": "array", "items": {"type": "integer", "minimum": 8}, "minItems": 2, "maxItems": 2}
_MODEL = {"oneOf": [{"type": "string"}, {"type": "object"}]}
_SAMPLER = {"oneOf": [{"type": "string"}, {"type": "object", "required": ["name"],
                                            "properties": {"name": _STR, "schedule": _STR}}]}

FIELDS: dict[str, Field] = {
    "name": Field("name", lambda v, p, w: as_str(v, p, w, allow_empty=False), None,
                  "benchmark name (default: the file name)", _STR),
    "model": Field("models", _list_of(parse_model), "analytic",
                   "analytic | {source: hub id, folder or .safetensors} | {arch: sd15, weights: random}; "
                   "a list is an axis", {"oneOf": [_MODEL, {"type": "array", "items": _MODEL}]}),
    "prompts": Field("prompts", parse_prompts, None, "the prompts (required): a list, or a suite "
                     "{suite: parti | drawbench | coco2014, file:, categories:, limit:}", PROMPTS_SCHEMA),
    "negative_prompt": Field("negative_prompts", _list_of(as_str), "", "negative prompt; a list is an axis",
                             _axis(_STR)),
    "seeds": Field("seeds", _list_of(_seed, False), None, "image seeds (required)",
                   {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1}),
    "samplers": Field("samplers", _samplers, None,
                      "sampler names as any UI writes them (required); see `bench samplers`",
                      {"type": "array", "items": _SAMPLER, "minItems": 1}),
    "steps": Field("steps", _list_of(lambda v, p, w: as_int(v, p, w, minimum=1)), None,
                   "sampling steps (required); a list is an axis", _axis(_INT1)),
    "cfg_scale": Field("cfg_scales", _list_of(lambda v, p, w: as_float(v, p, w, minimum=0.0)), 7.0,
                       "classifier-free guidance scale; a list is an axis",
                       _axis({"type": "number", "minimum": 0})),
    "size": Field("sizes", _unique(_sizes), [64, 64], "[width, height]; a list of sizes is an axis",
                  {"oneOf": [_SIZE, {"type": "array", "items": _SIZE}]}),
    "clip_skip": Field("clip_skips", _list_of(lambda v, p, w: as_int(v, p, w, minimum=1, maximum=12)), 1,
                       "CLIP skip as the WebUIs count it (1 = last layer); a list is an axis",
                       _axis({"type": "integer", "minimum": 1, "maximum": 12})),
    "repeats": Field("repeats", lambda v, p, w: as_int(v, p, w, minimum=1), 1,
                     "timing repeats per cell (all kept; the median is reported)", _INT1),
    "batch_size": Field("batch_size", lambda v, p, w: as_int(v, p, w, minimum=1), 4,
                        "seeds run together in one batch (images do not depend on it)", _INT1),
    "output": Field("output", lambda v, p, w: as_str(v, p, w, allow_empty=False), None,
                    "run directory, relative to this file (default: runs/<name>)", _STR),
    "metrics": Field("metrics", metric_settings.parse_metrics, None,
                     "quality metrics (default per model: analytic -> ode_error, alignment, fidelity, "
                     "coverage; others -> clip_score); see bench.metrics", metric_settings.SCHEMAS["metrics"]),
    "clip": Field("clip", metric_settings.parse_clip, None,
                  "clip_score's open_clip model: {model: ViT-B-32, pretrained: openai | path/to/weights "
                  "file}; weights come from that file or the local cache, never the network",
                  metric_settings.SCHEMAS["clip"]),
    "reference": Field("reference", metric_settings.parse_reference, None,
                       "reference of ref_rmse/ref_psnr on non-analytic models: {sampler: Heun Karras, "
                       "steps: 200} (deterministic)", metric_settings.SCHEMAS["reference"]),
    "quality": Field("quality", quality_settings.parse_quality, None,
                     "models and references of hps, pick_score, lpips, fid, kid: {hps: {weights: file}, "
                     "pick_score: {model: repo or folder}, lpips: {net: alex}, fid: {reference: folder | "
                     "stats.npz | sampler}}; weights come from the cache, else a download", quality_settings.SCHEMA),
    "check": Field("check", _check, {}, "tolerances for `bench check`: time, memory, quality, drift, "
                   "normalise, strict, alpha (e.g. {time: off, drift: 0.0001})", {"type": "object"}),
}

REQUIRED = ("prompts", "seeds", "samplers", "steps")


def load_config(path: str | Path, output: str | Path | None = None) -> Config:
    """Read and validate a benchmark file; `output` (from the CLI) overrides the YAML's."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the benchmark file: {exc.strerror}", str(path)) from None
    data, lines = load_yaml(text, str(path))
    config = parse_config(data, Where(str(path), lines), path)
    if output is not None:
        config = replace(config, output=Path(output))
    return config


def parse_config(data: Any, where: Where, path: Path | None = None) -> Config:
    if not isinstance(data, dict):
        raise where.error((), f"a benchmark file is a mapping of keys, got {type_name(data)}")
    for key in data:
        if key not in FIELDS:
            raise where.error((key,), unknown_key_message(key, {k: "" for k in FIELDS}))
    for key, value in data.items():
        if value is None:
            raise where.error((key,), f"has no value ({FIELDS[key].help})")
    for key in REQUIRED:
        if key not in data:
            raise where.error((), f"missing required key {key!r} ({FIELDS[key].help})")
    values: dict[str, Any] = {}
    for key, f in FIELDS.items():
        raw = data.get(key, f.default)
        values[f.attr] = None if raw is None else f.parse(raw, (key,), where)
    name = values["name"] or (path.stem if path else "benchmark")
    base = path.parent if path else Path.cwd()
    output = base / values["output"] if values["output"] else base / "runs" / name
    values.update(name=name, output=output, source=path)
    values = metric_settings.check_settings(values, where, base)
    return Config(**values)


def json_schema() -> dict:
    """A JSON Schema (draft 2020-12) of the benchmark format, for editors."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "samplerbench benchmark",
        "type": "object",
        "additionalProperties": False,
        "required": list(REQUIRED),
        "properties": {key: {**f.schema, "description": f.help,
                             **({"default": f.default} if f.default is not None else {})}
                       for key, f in FIELDS.items()},
    }
