"""The metric registry: the harness's view of the one metric table, `reports.metrics.METRICS`.

Each metric is declared once there (name, label, direction, scope, model kinds, its function as a lazy
"module:attr", whether it needs real weights, help); the report reads the same table as plain data
(it never imports bench). Metrics are computed after sampling (never inside the timed stages) by
`bench.metrics.stage`; a metric's code lives in its own module, imported only when it runs (this module
imports nothing heavy: `bench --help` stays fast).

Defaults per model kind (`metrics:` absent from the benchmark file):
- analytic: ode_error, alignment, fidelity, coverage: exact, cheap (one float64 ODE solve per
  (prompt, seed, cfg, size), cached), and no other tool can have them. clip_score only when asked
  (a `clip:` key or `metrics:`): CLIP on 32 px mixture images says little.
- any other model: clip_score. ref_rmse and ref_psnr only when asked (a `reference:` key or
  `metrics:`): a reference costs a 200-step Heun solve per (prompt, seed, cfg, size, ...) group, about
  as much as the rest of a small benchmark. hps, pick_score, image_reward, lpips, fid, kid only when asked: each
  loads a large model (HPS and PickScore are ViT-H, about 4 GB each; ImageReward 1.8 GB).
"""

from __future__ import annotations

import importlib
from typing import Any

from reports.metrics import METRICS, UNAVAILABLE, MetricSpec

__all__ = [
    "METRICS",
    "UNAVAILABLE",
    "MetricSpec",
    "applies",
    "better",
    "default_metrics",
    "function_of",
    "metric_direction",
]

#: model kind -> metrics computed when the benchmark file has no `metrics:` key ("*": any other kind)
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "analytic": ("ode_error", "alignment", "fidelity", "coverage"),
    "*": ("clip_score",),
}
assert all(n in METRICS for names in DEFAULT_METRICS.values() for n in names)
assert all(spec.function.count(":") == 1 for spec in METRICS.values()), "a metric's function is 'module:attr'"


def better(spec: MetricSpec) -> str:
    """'lower' | 'higher' | 'one' (closest to 1 is best)."""
    return {"min": "lower", "max": "higher", "one": "one"}[spec.goal]


def metric_direction(name: str) -> str | None:
    """'lower', 'higher' or 'one' for a known metric, None for a column that is not a metric."""
    spec = METRICS.get(name)
    return better(spec) if spec else None


def applies(name: str, kind: str) -> bool:
    """Whether metric `name` can be measured on a model of this kind."""
    models = METRICS[name].models
    return not models or kind in models


def default_metrics(kind: str) -> tuple[str, ...]:
    return DEFAULT_METRICS.get(kind, DEFAULT_METRICS["*"])


def function_of(name: str) -> Any:
    """The metric's function, imported now (cell scope: f(resources, batch); group/set: f(resources))."""
    module, attr = METRICS[name].function.split(":")
    return getattr(importlib.import_module(module), attr)
