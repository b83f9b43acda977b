"""Executors: where a run's batches execute. The driver always expands, resumes and writes the store.

`local` runs every batch in this process (`bench.runner.run_local`); `ray` spreads them over a Ray
cluster, one actor per GPU holding the loaded model (`bench.executors.ray_executor`). An executor is a
"module:attr" entry imported on use, so `bench --help` imports neither torch nor ray, and a function
`(config, cells, store, bar, argv) -> failed cells` (lm-eval's registry style).

The benchmark file says `executor: {kind: ray, address: auto, gpus_per_worker: 1}`; the command line
(`--executor`, `--address`) wins over it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bench.validate import Where, as_float, as_int, as_mapping, as_str

#: kind -> "module:function(config, cells, store, bar, argv) -> failed cells"
EXECUTORS: dict[str, str] = {
    "local": "bench.runner:run_local",
    "ray": "bench.executors.ray_executor:run_ray",
}


@dataclass(frozen=True)
class ExecutorSettings:
    """How a run is executed: `kind` picks the executor; the rest are the Ray executor's settings."""

    kind: str = "local"
    address: str | None = None  # None: start a local Ray; "auto": the running cluster; "ray://host:10001"
    gpus_per_worker: float = 1.0  # one actor per this many GPUs (on a cluster that has GPUs)
    cpus_per_worker: float = 1.0  # one actor per this many CPUs (on a CPU-only cluster)
    workers: int | None = None  # None: as many actors as the cluster's GPUs (or CPUs) allow


_KEYS = {
    "kind": "local | ray",
    "address": "auto | ray://host:10001 | host:port (default: start a local Ray)",
    "gpus_per_worker": "GPUs of one actor (default 1)",
    "cpus_per_worker": "CPUs of one actor on a CPU-only cluster (default 1)",
    "workers": "number of actors (default: as many as the cluster holds)",
}

SCHEMA: dict = {
    "oneOf": [
        {"enum": list(EXECUTORS)},
        {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "kind": {"enum": list(EXECUTORS)},
                "address": {"type": "string"},
                "gpus_per_worker": {"type": "number", "exclusiveMinimum": 0},
                "cpus_per_worker": {"type": "number", "exclusiveMinimum": 0},
                "workers": {"type": "integer", "minimum": 1},
            },
        },
    ]
}


def _kind(value: Any, path: tuple, where: Where) -> str:
    kind = as_str(value, path, where)
    if kind not in EXECUTORS:
        raise where.error(path, f"unknown executor {kind!r}; use one of {', '.join(EXECUTORS)}")
    return kind


def _positive(value: Any, path: tuple, where: Where) -> float:
    number = as_float(value, path, where)
    if number <= 0:
        raise where.error(path, f"must be > 0, got {value}")
    return number


def parse_executor(value: Any, path: tuple, where: Where) -> ExecutorSettings:
    """`executor: ray` or `executor: {kind: ray, address: auto, gpus_per_worker: 1, workers: 8}`."""
    if isinstance(value, str):
        return ExecutorSettings(kind=_kind(value, path, where))
    as_mapping(value, path, where, _KEYS)
    parse: dict[str, Callable[[Any, tuple, Where], Any]] = {
        "kind": _kind,
        "address": lambda v, p, w: as_str(v, p, w, allow_empty=False),
        "gpus_per_worker": _positive,
        "cpus_per_worker": _positive,
        "workers": lambda v, p, w: as_int(v, p, w, minimum=1),
    }
    return ExecutorSettings(**{k: parse[k](v, path + (k,), where) for k, v in value.items()})


def with_command_line(settings: ExecutorSettings | None, kind: str | None, address: str | None) -> ExecutorSettings:
    """The file's settings with the command line's `--executor` / `--address` over them (an address
    alone implies Ray)."""
    settings = settings or ExecutorSettings()
    if kind is not None:
        settings = replace(settings, kind=kind)
    if address is not None:
        settings = replace(settings, address=address, kind=kind or "ray")
    return settings


def resolve(kind: str) -> Callable[..., int]:
    """Import the executor of `kind` (its heavy imports happen only now)."""
    module, _, attr = EXECUTORS[kind].partition(":")
    return getattr(importlib.import_module(module), attr)
