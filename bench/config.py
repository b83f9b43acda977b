"""The benchmark file: YAML validated into a frozen, typed `Config` (STYLE.md 4).

Every top-level key is one `Field` (parser, default, help, JSON Schema): the axes' keys come from their
declarations in `bench.record`, the run settings from `SETTINGS`, so the validator, the defaults and
`bench schema` cannot drift apart. Unknown keys are errors: a typo silently ignored would corrupt a
study. Every error of a file is reported at once. Any axis key given as a list is an axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Callable

from bench import executors
from bench.errors import ConfigError, ConfigErrors
from bench.metrics import quality_settings
from bench.metrics import settings as metric_settings
from bench.models import ModelSpec, parse_model
from bench.sampler_choice import SamplerChoice
from bench.validate import Where, as_float, as_int, as_list, as_str, type_name, unknown_key_message
from bench.yamlsource import read_yaml


@dataclass(frozen=True)
class Config:
    """A validated benchmark: the values of every declared axis (`bench.record.AXES`) and run settings."""

    name: str
    axes: dict[str, tuple[Any, ...]]  # axis name -> its values, in the file's order
    repeats: int
    batch_size: int
    output: Path
    metrics: tuple[str, ...] | None = None  # None: the defaults of each model (bench.metrics)
    clip: Any = None  # bench.metrics.settings.ClipSettings
    reference: Any = None  # bench.metrics.settings.ReferenceSettings
    quality: Any = None  # bench.metrics.quality_settings.QualitySettings (None: the published defaults)
    offline: bool = field(default=False, compare=False)  # `bench run --offline`: metric weights from the cache only
    executor: Any = None  # bench.executors.ExecutorSettings; None: the local executor
    source: Path | None = field(default=None, compare=False)
    check: dict[str, Any] = field(default_factory=dict, compare=False)  # `bench check` tolerances
    report: dict[str, Any] | None = field(default=None, compare=False)  # the report's objective (reports.objective)

    # the built-in axes, typed
    @property
    def models(self) -> tuple[ModelSpec, ...]:
        return self.axes["model"]

    @property
    def prompts(self) -> tuple[str, ...]:
        return self.axes["prompt"]

    @property
    def negative_prompts(self) -> tuple[str, ...]:
        return self.axes["negative_prompt"]

    @property
    def seeds(self) -> tuple[int, ...]:
        return self.axes["seed"]

    @property
    def samplers(self) -> tuple[SamplerChoice, ...]:
        return self.axes["sampler"]

    @property
    def steps(self) -> tuple[int, ...]:
        return self.axes["steps"]

    @property
    def cfg_scales(self) -> tuple[float, ...]:
        return self.axes["cfg_scale"]

    @property
    def sizes(self) -> tuple[tuple[int, int], ...]:
        return self.axes["size"]

    @property
    def clip_skips(self) -> tuple[int, ...]:
        return self.axes["clip_skip"]

    @property
    def cell_count(self) -> int:
        count = 1
        for values in self.axes.values():
            count *= len(values)
        return count


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


def _report(v: Any, p: tuple, w: Where) -> dict[str, Any]:
    """The report's objective and constraints (reports.objective), saved in the run's meta."""
    from reports.objective import parse

    try:
        return parse(v)
    except (TypeError, ValueError) as exc:
        raise w.error(p, str(exc)) from None


def _check(v: Any, p: tuple, w: Where) -> dict[str, Any]:
    """The benchmark's own regression gate (bench.check.tolerances), saved in the run's meta."""
    from bench.check.tolerances import nest, parse_section

    return nest(parse_section(v, lambda path, message: w.error(path, message), p))


# --- the axes' parsers (declared in bench.record) ------------------------------------------------------
def parse_models(v: Any, p: tuple, w: Where) -> tuple[ModelSpec, ...]:
    """The model axis; two different models may not share a label (every output names models by it)."""
    models = _list_of(parse_model)(v, p, w)
    seen: dict[str, int] = {}
    for i, model in enumerate(models):
        if model.label in seen:
            raise w.error(
                p + (i,),
                f"two models are labelled {model.label!r} (model[{seen[model.label]}] and "
                f"model[{i}]); give one of them label:",
            )
        seen[model.label] = i
    return models


parse_negative_prompts = _list_of(as_str)
parse_seeds = _list_of(_seed, False)
parse_steps = _list_of(lambda v, p, w: as_int(v, p, w, minimum=1))
parse_cfg_scales = _list_of(lambda v, p, w: as_float(v, p, w, minimum=0.0))
parse_sizes = _unique(_sizes)
parse_clip_skips = _list_of(lambda v, p, w: as_int(v, p, w, minimum=1, maximum=12))

_STR = {"type": "string"}
_INT1 = {"type": "integer", "minimum": 1}

#: the run settings; the axes' keys come from bench.record.AXES
SETTINGS: dict[str, Field] = {
    "name": Field(
        "name",
        lambda v, p, w: as_str(v, p, w, allow_empty=False),
        None,
        "benchmark name (default: the file name)",
        _STR,
    ),
    "repeats": Field(
        "repeats",
        lambda v, p, w: as_int(v, p, w, minimum=1),
        1,
        "timing repeats per cell (all kept; the median is reported)",
        _INT1,
    ),
    "batch_size": Field(
        "batch_size",
        lambda v, p, w: as_int(v, p, w, minimum=1),
        4,
        "seeds run together in one batch (on the analytic model images do not depend on it)",
        _INT1,
    ),
    "output": Field(
        "output",
        lambda v, p, w: as_str(v, p, w, allow_empty=False),
        None,
        "run directory, relative to this file (default: runs/<name>)",
        _STR,
    ),
    "metrics": Field(
        "metrics",
        metric_settings.parse_metrics,
        None,
        "quality metrics (default per model: analytic -> ode_error, alignment, fidelity, "
        "coverage; others -> clip_score); see bench.metrics",
        metric_settings.SCHEMAS["metrics"],
    ),
    "clip": Field(
        "clip",
        metric_settings.parse_clip,
        None,
        "clip_score's open_clip model: {model: ViT-B-32, pretrained: openai | path/to/weights "
        "file}; weights come from that file or the local cache, never the network",
        metric_settings.SCHEMAS["clip"],
    ),
    "reference": Field(
        "reference",
        metric_settings.parse_reference,
        None,
        "reference of ref_rmse/ref_psnr on non-analytic models: {sampler: Heun Karras, steps: 200} (deterministic)",
        metric_settings.SCHEMAS["reference"],
    ),
    "quality": Field(
        "quality",
        quality_settings.parse_quality,
        None,
        "models and references of hps, pick_score, image_reward, lpips, fid, kid: {hps: {weights: file}, "
        "pick_score: {model: repo or folder}, lpips: {net: alex}, fid: {reference: folder | "
        "stats.npz | sampler}}; weights come from the cache, else a download",
        quality_settings.SCHEMA,
    ),
    "executor": Field(
        "executor",
        executors.parse_executor,
        None,
        "where batches run: local (default) | {kind: ray, address: auto, gpus_per_worker: 1}; "
        "--executor / --address win",
        executors.SCHEMA,
    ),
    "check": Field(
        "check",
        _check,
        {},
        "tolerances for `bench check`: time, memory, quality, drift, "
        "normalise, strict, alpha (e.g. {time: off, drift: 0.0001})",
        {"type": "object"},
    ),
    "report": Field(
        "report",
        _report,
        None,
        "the report's verdict: {objective: ode_error | clip_score | time | ..., "
        'constraints: {alignment: ">= 0.95"}} (default: the model\'s main metric)',
        {"type": "object"},
    ),
}


def fields() -> dict[str, Field]:
    """Every key of the benchmark file: the axes declared in bench.record, then the run settings."""
    from bench import record

    axes = {
        a.key: Field(a.name, a.parser(), None if a.default is record.REQUIRED else a.default, a.help, a.schema)
        for a in record.AXES.values()
    }
    return {"name": SETTINGS["name"], **axes, **{k: f for k, f in SETTINGS.items() if k != "name"}}


def required_keys() -> tuple[str, ...]:
    from bench import record

    return tuple(a.key for a in record.AXES.values() if a.default is record.REQUIRED)


def load_config(path: str | Path, output: str | Path | None = None) -> Config:
    """Read and validate a benchmark file; `output` (from the CLI) overrides the YAML's."""
    path = Path(path)
    data, lines = read_yaml(path)  # bounded: size, depth, alias expansion, UTF-8
    config = parse_config(data, Where(str(path), lines), path)
    if output is not None:
        config = replace(config, output=Path(output))
    return config


def _collect(errors: list[ConfigError], parse: Callable[[], Any]) -> Any:
    """Run one parser; a ConfigError is kept (every error of a file is reported at once)."""
    try:
        return parse()
    except ConfigErrors as many:
        errors.extend(many.errors)
    except ConfigError as exc:
        errors.append(exc)
    return None


def parse_config(data: Any, where: Where, path: Path | None = None) -> Config:
    if not isinstance(data, dict):
        raise where.error((), f"a benchmark file is a mapping of keys, got {type_name(data)}")
    known = fields()
    errors: list[ConfigError] = []
    for key in data:
        if key not in known:
            errors.append(where.error((key,), unknown_key_message(key, {k: "" for k in known})))
        elif data[key] is None:
            errors.append(where.error((key,), f"has no value ({known[key].help})"))
    for key in required_keys():
        if key not in data:
            errors.append(where.error((), f"missing required key {key!r} ({known[key].help})"))
    bad = {e.key for e in errors}
    values: dict[str, Any] = {}
    for key, f in known.items():
        raw = data.get(key, f.default)
        if raw is not None and key not in bad:
            values[f.attr] = _collect(errors, partial(f.parse, raw, (key,), where))
        else:
            values[f.attr] = None
    if errors:
        raise ConfigErrors(errors)
    from bench import record

    axes = {name: values.pop(name) for name in record.AXES}
    name = values["name"] or (path.stem if path else "benchmark")
    base = path.parent if path else Path.cwd()
    output = base / values["output"] if values["output"] else base / "runs" / name
    values.update(name=name, output=output, source=path, axes=axes)
    values = metric_settings.check_settings(values, where, base)
    return Config(**values)


def json_schema() -> dict:
    """A JSON Schema (draft 2020-12) of the benchmark format, for editors."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "samplerbench benchmark",
        "type": "object",
        "additionalProperties": False,
        "required": list(required_keys()),
        "properties": {
            key: {**f.schema, "description": f.help, **({"default": f.default} if f.default is not None else {})}
            for key, f in fields().items()
        },
    }
