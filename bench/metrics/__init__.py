"""The metric registry: what each quality figure means, which way is better, where it can be measured.

Metrics are computed after sampling (never inside the timed stages) by `bench.metrics.stage`. Labels,
directions and scales live in `reports.metrics` (the report cannot import bench; bench reads that table
for `bench check`); a metric's code lives in its own module,
imported only when it runs (this module imports nothing heavy: `bench --help` stays fast).

Defaults per model kind (`metrics:` absent from the benchmark file):
- analytic: ode_error, alignment, fidelity, coverage: exact, cheap (one float64 ODE solve per
  (prompt, seed, cfg, size), cached), and no other tool can have them. clip_score only when asked
  (a `clip:` key or `metrics:`): CLIP on 32 px mixture images says little.
- any other model: clip_score. ref_rmse and ref_psnr only when asked (a `reference:` key or
  `metrics:`): a reference costs a 200-step Heun solve per (prompt, seed, cfg, size, ...) group, about
  as much as the rest of a small benchmark.
"""
from __future__ import annotations

from dataclasses import dataclass

from reports.metrics import METRICS as SHOWN
from reports.metrics import MetricSpec


@dataclass(frozen=True)
class MetricInfo:
    """Where a metric can be measured; what it means and which way is better is `spec` (one table,
    `reports.metrics.METRICS`, shared by the report, the recommendation and `bench check`)."""

    name: str
    models: tuple[str, ...] = ()  # model kinds it can be measured on; () = every model
    scope: str = "cell"  # "cell" | "group" (one value per group of seeds, repeated on each cell)

    @property
    def spec(self) -> MetricSpec:
        return SHOWN[self.name]

    @property
    def better(self) -> str:
        """'lower' | 'higher' | 'one' (closest to 1 is best)."""
        return {"min": "lower", "max": "higher", "one": "one"}[self.spec.goal]


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("ode_error", ("analytic",)),
    MetricInfo("alignment", ("analytic",)),
    MetricInfo("fidelity", ("analytic",)),
    MetricInfo("coverage", ("analytic",), "group"),
    MetricInfo("clip_score"),
    MetricInfo("ref_rmse"),
    MetricInfo("ref_psnr"),
)}
assert set(METRICS) == set(SHOWN), "every computed metric needs its entry in reports.metrics.METRICS"

#: model kind -> metrics computed when the benchmark file has no `metrics:` key ("*": any other kind)
DEFAULT_METRICS: dict[str, tuple[str, ...]] = {
    "analytic": ("ode_error", "alignment", "fidelity", "coverage"),
    "*": ("clip_score",),
}


def metric_direction(name: str) -> str | None:
    """'lower', 'higher' or 'one' for a known metric, None for a column that is not a metric."""
    info = METRICS.get(name)
    return info.better if info else None


def applies(name: str, kind: str) -> bool:
    """Whether metric `name` can be measured on a model of this kind."""
    models = METRICS[name].models
    return not models or kind in models


def default_metrics(kind: str) -> tuple[str, ...]:
    return DEFAULT_METRICS.get(kind, DEFAULT_METRICS["*"])
