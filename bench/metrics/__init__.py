"""The metric registry: what each quality figure means and which way is better.

Metrics are computed after sampling (never inside the timed stages). Reports and `bench check` read
directions and labels from here; a metric's code lives in its own module, imported only when it runs.
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


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("ode_error", "ODE error (RMS to reference)", "lower",
               "RMS distance to the exact probability-flow ODE solution from the same noise", True),
    MetricInfo("alignment", "alignment", "higher",
               "exact posterior probability of the prompt's concept given the image"),
    MetricInfo("fidelity", "fidelity", "one",
               "distance to the nearest component mean of the prompt's concept, in component stds"),
    MetricInfo("coverage", "coverage TV", "lower",
               "total variation between how often each component is reached and its weight"),
    MetricInfo("clip_score", "CLIP score", "higher", "100 x cosine(image, text) with open_clip"),
    MetricInfo("ref_rmse", "RMSE to reference", "lower",
               "latent RMS distance to a high-accuracy reference from the same noise", True),
    MetricInfo("ref_psnr", "PSNR to reference (dB)", "higher",
               "PSNR of the decoded image against the decoded reference"),
)}


def metric_direction(name: str) -> str | None:
    """'lower', 'higher' or 'one' for a known metric, None for a column that is not a metric."""
    info = METRICS.get(name)
    return info.better if info else None
