"""The cell record: every field a cell has — its axes, measurements and metrics — declared once.

An `Axis` is one dimension of the run matrix: the benchmark-file key that lists its values, how one value
is parsed, the columns it is stored as, what it adds to the cell id, and its role in comparisons.
`MEASURES` are the columns a run writes for a finished cell. Everything else is derived from these two
tables: the store's columns (`columns`), cell identity and batch keys (`bench.matrix`), the baseline's
parameters (`param_columns`), the aggregates' groupings and the report's axes (`report_axes`, handed to
`reports` as plain data). Adding an axis is one `declare` call (asv `results.py` owns its schema the
same way).

Cell ids never change for an existing axis: a new axis joins a cell's identity only when its value is
not `id_default`, so every id computed before it existed stays valid.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

Codec = Literal["text", "int", "float", "bool", "json"]
#: "choice": what a user picks (sampler, steps); "task": changes the task, never ranked across (model,
#: size, CFG...); "replicate": what a configuration is averaged over (prompt, seed)
Role = Literal["choice", "task", "replicate"]
#: (raw YAML value, key path, Where) -> tuple of typed values; or "module:attr" naming one
Parser = Callable[[Any, tuple, Any], tuple]

_SQL = {"text": "TEXT", "int": "INTEGER", "float": "REAL", "bool": "INTEGER", "json": "TEXT"}
REQUIRED = object()  # an axis with no default: its key must be in the benchmark file
_UNSET = object()


@dataclass(frozen=True)
class Column:
    """One stored field of a cell: its SQL type follows from its codec."""

    name: str
    codec: Codec = "text"
    label: str = ""
    numeric: bool = False  # sort numerically (ascending) rather than in first-seen order
    group: bool = False  # a label of cells (a prompt's suite category): the report means each metric per value

    @property
    def sql(self) -> str:
        return _SQL[self.codec]

    def encode(self, value: Any) -> Any:
        if value is None:
            return None
        if self.codec == "json":
            return json.dumps(value)
        if self.codec == "bool":
            return int(bool(value))
        return value

    def decode(self, value: Any) -> Any:
        if value is None:
            return None
        if self.codec == "json":
            return json.loads(value)
        if self.codec == "bool":
            return bool(value)
        return value


def _same(name: str) -> Callable[[Any], dict[str, Any]]:
    return lambda value: {name: value}


@dataclass(frozen=True)
class Axis:
    """One dimension of the run matrix, declared once."""

    name: str  # the cell's field
    key: str  # the benchmark file's key that lists its values
    parse: Parser | str  # the whole YAML value -> tuple of typed values
    columns: tuple[Column, ...]  # what a value is stored as (the first is its display column)
    default: Any = REQUIRED  # raw YAML default
    help: str = ""
    schema: dict = field(default_factory=dict)
    role: Role = "task"
    same_work: bool = False  # cells differing only here do the same work (timing pools them)
    batch: bool = True  # False: cells differing only here run together as one batch (the seed)
    #: typed value -> its stored columns (default: {columns[0].name: value})
    flatten: Callable[[Any], dict[str, Any]] | None = None
    #: typed value -> its entries in the cell id (default: {name: value}); None: not part of the id
    identity: Callable[[Any], dict[str, Any]] | None | object = _UNSET
    #: a value omitted from the id, so that ids from before the axis existed stay valid
    id_default: Any = _UNSET

    @property
    def column(self) -> Column:
        return self.columns[0]

    def parser(self) -> Parser:
        if isinstance(self.parse, str):
            module, _, attr = self.parse.partition(":")
            return getattr(importlib.import_module(module), attr)
        return self.parse

    def stored(self, value: Any) -> dict[str, Any]:
        return (self.flatten or _same(self.column.name))(value)

    def id_entries(self, value: Any) -> dict[str, Any]:
        if self.identity is None or (self.id_default is not _UNSET and value == self.id_default):
            return {}
        make = _same(self.name) if self.identity is _UNSET else self.identity
        return make(value)  # type: ignore[operator]


#: the run's axes in matrix order (the seed last: seeds of one group are batched)
AXES: dict[str, Axis] = {}


def declare(axis: Axis) -> Axis:
    """Register an axis (before the seed, which stays last); a name or column used twice is an error."""
    if axis.name in AXES:
        raise ValueError(f"axis {axis.name!r} is declared twice")
    taken = {c.name for c in columns()}
    clash = [c.name for c in axis.columns if c.name in taken]
    if clash:
        raise ValueError(f"axis {axis.name!r}: column(s) {', '.join(clash)} already declared")
    seed = AXES.pop("seed", None)
    AXES[axis.name] = axis
    if seed is not None:
        AXES["seed"] = seed
    return axis


def undeclare(name: str) -> None:
    """Remove an axis (tests and plugins that come and go)."""
    del AXES[name]


#: what a run measures on a finished cell, stored after the axis columns
MEASURES: tuple[Column, ...] = (
    Column("batch_size", "int", "batch", numeric=True),
    Column("nfe", "int", "NFE", numeric=True),
    Column("encode_s", "float"),
    Column("sample_s", "float"),
    Column("decode_s", "float"),
    Column("total_s", "float"),
    Column("sample_s_repeats", "json"),
    Column("peak_mem_bytes", "int"),
    Column("peak_mem_reserved_bytes", "int"),
    Column("peak_mem_kind", "text"),
    Column("image", "text"),
    Column("fingerprint", "json"),
    Column("random_weights", "bool"),
    Column("metrics", "json"),
    Column("notes", "json"),
    Column("run_id", "int"),
    Column("finished_at", "text"),
    Column("worker", "text"),  # "host/device" of a distributed run's worker (bench.executors); local: NULL
)
#: the record's key and outcome, first in every row
HEAD: tuple[Column, ...] = (Column("cell_id"), Column("status"), Column("error"))


def axis_columns() -> tuple[Column, ...]:
    return tuple(c for axis in AXES.values() for c in axis.columns)


def columns() -> tuple[Column, ...]:
    """Every stored column, in `bench.load_results` order."""
    return HEAD + axis_columns() + MEASURES


def column(name: str) -> Column:
    for c in columns():
        if c.name == name:
            return c
    raise KeyError(name)


def param_columns() -> tuple[str, ...]:
    """The columns that say which image a cell is (a baseline keeps them with each cell)."""
    return tuple(c.name for c in axis_columns()) + ("random_weights",)


def same_work_columns() -> frozenset[str]:
    """Columns of axes that change what an image shows but not the work (prompt, negative prompt, seed)."""
    return frozenset(c.name for a in AXES.values() if a.same_work for c in a.columns)


def columns_of(role: Role) -> tuple[str, ...]:
    """The display column of each axis with this role."""
    return tuple(a.column.name for a in AXES.values() if a.role == role)


def for_reports() -> dict[str, Any]:
    """The record as plain data for `reports` (which never imports bench): each axis's display column,
    label, ordering and role, the name of every declared column, and the labels a report groups by."""
    return {
        "axes": [
            {"column": a.column.name, "label": a.column.label or a.name, "numeric": a.column.numeric, "role": a.role}
            for a in AXES.values()
        ],
        "columns": [c.name for c in columns()],
        "groups": [
            {"column": c.name, "label": c.label or c.name, "of": a.column.name}
            for a in AXES.values()
            for c in a.columns
            if c.group
        ],
    }


# --- the built-in axes (parsers live with the benchmark format, imported on use) ------------------
_STR = {"type": "string"}


def _axis_schema(item: dict) -> dict:
    return {"oneOf": [item, {"type": "array", "items": item, "minItems": 1}]}


_SIZE = {"type": "array", "items": {"type": "integer", "minimum": 8}, "minItems": 2, "maxItems": 2}
_MODEL = {"oneOf": [{"type": "string"}, {"type": "object"}]}
_SAMPLER = {
    "oneOf": [
        {"type": "string"},
        {"type": "object", "required": ["name"], "properties": {"name": _STR, "schedule": _STR}},
        {
            "type": "object",
            "required": ["function"],
            "additionalProperties": False,
            "properties": {"function": _STR, "schedule": _STR, "label": _STR},
        },
    ]
}


def _sampler_columns(choice: Any) -> dict[str, Any]:
    spec = choice.spec
    return {
        "sampler": choice.written,
        "sampler_id": spec.id,
        "family": spec.family,
        "algorithm": spec.algorithm,
        "schedule": spec.schedule,
        "stochastic": spec.stochastic,
        "sampler_options": dict(spec.options) or None,
    }


def _prompt_columns(prompt: str) -> dict[str, Any]:
    """A suite's prompt (bench.prompt_suites.SuitePrompt) stores its labels; a plain str has none."""
    return {
        "prompt": str(prompt),
        "prompt_category": getattr(prompt, "category", None),
        "prompt_challenge": getattr(prompt, "challenge", None),
    }


def _size_columns(size: tuple[int, int]) -> dict[str, Any]:
    return {"size": f"{size[0]}x{size[1]}", "width": size[0], "height": size[1]}


for _axis in (
    Axis(
        "model",
        "model",
        "bench.config:parse_models",
        (Column("model", label="model"),),
        default="analytic",
        help="analytic | {source: hub id, folder or .safetensors} | {arch: sd15, weights: random}; a list is an axis",
        schema={"oneOf": [_MODEL, {"type": "array", "items": _MODEL}]},
        flatten=lambda m: {"model": m.label},
        identity=lambda m: {"model": m.identity()},
    ),
    Axis(
        "prompt",
        "prompts",
        "bench.prompt_suites:parse_prompts",
        (
            Column("prompt", label="prompt"),
            Column("prompt_category", label="category", group=True),  # labels, not identity
            Column("prompt_challenge", label="challenge", group=True),
        ),
        help="the prompts (required): a list, or a suite {suite: parti | drawbench | coco2014, file:, "
        "categories:, limit:}",
        schema={"oneOf": [{"type": "array", "items": _STR, "minItems": 1}, {"type": "object"}]},
        role="replicate",
        same_work=True,
        flatten=_prompt_columns,
        identity=lambda p: {"prompt": str(p)},
    ),
    Axis(
        "negative_prompt",
        "negative_prompt",
        "bench.config:parse_negative_prompts",
        (Column("negative_prompt", label="negative"),),
        default="",
        help="negative prompt; a list is an axis",
        schema=_axis_schema(_STR),
        same_work=True,
    ),
    Axis(
        "size",
        "size",
        "bench.config:parse_sizes",
        (Column("size", label="size"), Column("width", "int", "width", True), Column("height", "int", "height", True)),
        default=[64, 64],
        help="[width, height]; a list of sizes is an axis",
        schema={"oneOf": [_SIZE, {"type": "array", "items": _SIZE}]},
        flatten=_size_columns,
        identity=lambda s: {"width": s[0], "height": s[1]},
    ),
    Axis(
        "clip_skip",
        "clip_skip",
        "bench.config:parse_clip_skips",
        (Column("clip_skip", "int", "clip skip", True),),
        default=1,
        help="CLIP skip as the WebUIs count it (1 = last layer); a list is an axis",
        schema=_axis_schema({"type": "integer", "minimum": 1, "maximum": 12}),
    ),
    Axis(
        "cfg_scale",
        "cfg_scale",
        "bench.config:parse_cfg_scales",
        (Column("cfg_scale", "float", "cfg", True),),
        default=7.0,
        help="classifier-free guidance scale; a list is an axis",
        schema=_axis_schema({"type": "number", "minimum": 0}),
    ),
    Axis(
        "sampler",
        "samplers",
        "bench.sampler_choice:parse_samplers",
        (
            Column("sampler", label="sampler"),
            Column("sampler_id"),
            Column("family"),
            Column("algorithm"),
            Column("schedule"),
            Column("stochastic", "bool"),
            Column("sampler_options", "json"),
        ),
        help="sampler names as any UI writes them (required); see `bench samplers`",
        schema={"type": "array", "items": _SAMPLER, "minItems": 1},
        role="choice",
        flatten=_sampler_columns,
        identity=lambda c: {"sampler": c.spec.id},
    ),
    Axis(
        "steps",
        "steps",
        "bench.config:parse_steps",
        (Column("steps", "int", "steps", True),),
        help="sampling steps (required); a list is an axis",
        role="choice",
        schema=_axis_schema({"type": "integer", "minimum": 1}),
    ),
    Axis(
        "noise",
        "noise",
        "bench.noise_axis:parse_noise",
        (Column("noise", label="noise"),),
        default={"convention": "samplerbench"},
        help="noise convention: samplerbench | comfyui | a1111 (docs/samplers.md)",
        schema={"type": "object"},
        same_work=True,
        id_default="samplerbench",
    ),
    Axis(
        "seed",
        "seeds",
        "bench.config:parse_seeds",
        (Column("seed", "int", "seed", True),),
        help="image seeds (required)",
        role="replicate",
        same_work=True,
        batch=False,
        schema={"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1},
    ),
):
    declare(_axis)
