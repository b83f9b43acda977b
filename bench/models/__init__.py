"""The model registry: a model kind is its YAML keys and a "module:function" loader imported on use."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from bench.validate import Where, as_bool, as_float, as_int, as_mapping, as_str, type_name
from samplers.registry import Registry, load_attr

#: options that name a model without changing its images (never in a cell id)
NOT_IDENTITY = ("label",)
_NO_DEFAULT = object()


@dataclass(frozen=True)
class ModelSpec:
    """A model as the config names it; `identity` (its parameters with defaults) goes into cell ids."""

    kind: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.params)

    def identity(self) -> dict[str, Any]:
        kind = MODEL_KINDS[self.kind]
        options = {k: v for k, v in self.options.items() if k not in NOT_IDENTITY}
        return {"kind": self.kind, "version": kind.version, **kind.defaults, **options}

    @property
    def label(self) -> str:
        """The model's name in every output: `label:` if given, else its source, arch or kind and every
        option that differs from the kind's defaults ("tiny (dtype=bfloat16, weights=random)"), so two
        models of one run never share a label."""
        opts = self.options
        if "label" in opts:
            return str(opts["label"])
        base = str(opts.get("source") or opts.get("arch") or self.kind)
        defaults = MODEL_KINDS[self.kind].defaults
        extra = [
            f"{k}={v}"
            for k, v in sorted(opts.items())
            if k not in ("source", "arch", *NOT_IDENTITY) and defaults.get(k, _NO_DEFAULT) != v
        ]
        return f"{base} ({', '.join(extra)})" if extra else base

    def key(self) -> str:
        return json.dumps(self.identity(), sort_keys=True, default=str)


@dataclass(frozen=True)
class ModelKind:
    """How one kind of model is configured and loaded."""

    loader: str  # "module:function(options: dict) -> DiffusionModel"
    keys: dict[str, Callable[[Any, tuple, Where], Any]]
    defaults: dict[str, Any] = field(default_factory=dict)
    version: int = 1  # bump when the kind's images change for the same parameters (new cell ids)


def _choice(*allowed: str) -> Callable[[Any, tuple, Where], str]:
    def check(value: Any, path: tuple, where: Where) -> str:
        if value not in allowed:
            raise where.error(path, f"must be one of {', '.join(allowed)}; got {value!r}")
        return value

    return check


_DTYPES = _choice("float32", "float16", "bfloat16", "float64")

#: model kind -> how it is configured and loaded (its loader imported only when a model of it loads)
MODEL_KINDS: Registry[ModelKind] = Registry("model kind")
MODEL_KINDS.add(
    "analytic",
    ModelKind(
        loader="bench.models.loaders:analytic",
        keys={
            "kind": _choice("analytic"),
            "label": as_str,
            "components": lambda v, p, w: as_int(v, p, w, minimum=1, maximum=64),
            "std": lambda v, p, w: as_float(v, p, w, minimum=1e-4),
            "dtype": _choice("float32", "float64"),
        },
        defaults={"components": 4, "std": 0.1, "dtype": "float32"},
    ),
)
MODEL_KINDS.add(
    "diffusers",
    ModelKind(
        loader="bench.models.loaders:diffusers",
        keys={
            "kind": _choice("diffusers"),
            "label": as_str,
            "source": as_str,
            "arch": _choice("sd15", "sd21", "sdxl", "tiny", "tiny-xl"),
            "weights": _choice("random", "pretrained"),
            "seed": lambda v, p, w: as_int(v, p, w, minimum=0),
            "dtype": _DTYPES,
            "device": as_str,
            "variant": as_str,
            "revision": as_str,
            "allow_pickle": as_bool,
            "compile": as_bool,
            "prediction_type": _choice("epsilon", "v_prediction", "sample"),
        },
    ),
)


def parse_model(value: Any, path: tuple, where: Where) -> ModelSpec:
    """`analytic` | {kind: analytic, ...} | {source: ...} | {arch: ..., weights: random} -> ModelSpec."""
    if isinstance(value, str):  # a kind name, else a diffusers source (hub id, folder or file)
        return parse_model({"kind": value} if value in MODEL_KINDS else {"source": value}, path, where)
    if not isinstance(value, dict):
        raise where.error(path, f"expected a model name or a mapping, got {type_name(value)}")
    kind = value.get("kind") or ("diffusers" if {"source", "arch"} & set(value) else None)
    if not isinstance(kind, str) or kind not in MODEL_KINDS:
        raise where.error(
            path,
            f"cannot tell the model kind; give kind: one of {', '.join(MODEL_KINDS.names())}, "
            "or source: / arch: for a diffusers model",
        )
    spec_keys = MODEL_KINDS[kind].keys
    as_mapping(value, path, where, {k: "" for k in spec_keys})
    params = {k: spec_keys[k](v, path + (k,), where) for k, v in value.items() if k != "kind"}
    if kind == "diffusers" and ("source" in params) == ("arch" in params):
        raise where.error(path, "give exactly one of source: (hub id, folder or .safetensors) or arch:")
    return ModelSpec(kind, tuple(sorted(params.items())))


def load_model(spec: ModelSpec):
    """Import the kind's loader and build the model (slow: weights, torch)."""
    options = {k: v for k, v in spec.options.items() if k not in NOT_IDENTITY}
    return load_attr(MODEL_KINDS[spec.kind].loader)(options)
