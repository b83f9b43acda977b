"""The metric registry: what each quality figure means, which way is better, where it can be measured.

Metrics are computed after sampling (never inside the timed stages) by `bench.metrics.stage`. Reports
and `bench check` read directions and labels from here; a metric's code lives in its own module,
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


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    better: str  # "lower" | "higher" | "one" (closest to 1 is best)
    help: str
    log_scale: bool = False
    models: tuple[str, ...] = ()  # model kinds it can be measured on; () = every model
    scope: str = "cell"  # "cell" | "group" (one value per group of seeds, repeated on each cell)


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("ode_error", "ODE error (RMS to reference)", "lower",
               "RMS distance (latent values) to the exact probability-flow ODE solution from the same "
               "noise (sigma_max to sigma_min, then the final denoise, as k samplers end); for "
               "stochastic samplers a distance, not a convergence error", True, ("analytic",)),
    MetricInfo("alignment", "alignment", "higher",
               "exact posterior probability of the prompt's concept given the image", False, ("analytic",)),
    MetricInfo("fidelity", "fidelity", "one",
               "min over the concept's components k of |x - mu_k| / (s sqrt(D)); about 1 for a true "
               "sample, below 1 for over-smoothed images", False, ("analytic",)),
    MetricInfo("coverage", "coverage TV", "lower",
               "total variation between how often each component is reached over the seeds and its "
               "weight; exact samples score about the floor noted on the cell", False, ("analytic",),
               "group"),
    MetricInfo("clip_score", "CLIP score", "higher", "100 x cosine(image, text) with open_clip"),
    MetricInfo("ref_rmse", "RMSE to reference", "lower",
               "latent RMS distance to a high-accuracy reference from the same noise", True),
    MetricInfo("ref_psnr", "PSNR to reference (dB)", "higher",
               "PSNR of the decoded image against the decoded reference"),
)}

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
