"""Known quality metrics: direction, label and scale, so every report view agrees on what 'better' means.

The harness adds a metric column only when it computed it; the report reads this registry to know how
to sort, plot and recommend. A float column that is not listed here is shown in the table but never
ranked: guessing a direction would produce a wrong recommendation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the harness reads this table while parsing configs: keep the import light
    import pandas as pd

Goal = Literal["min", "max", "one"]


@dataclass(frozen=True)
class MetricSpec:
    """One quality measure: `goal` is min (lower better), max (higher better) or one (closer to 1)."""

    name: str
    label: str
    short: str
    goal: Goal
    log: bool = False
    needs_real_weights: bool = False  # meaningless when the model has random weights
    exact_only_for_deterministic: bool = False  # a distance to the ODE solution: convergence for ODE samplers
    help: str = ""

    def loss(self, values: pd.Series) -> pd.Series:
        """Map raw values to 'lower is better' so one ranking rule serves every metric."""
        if self.goal == "min":
            return values.astype(float)
        if self.goal == "max":
            return -values.astype(float)
        return (values.astype(float) - 1.0).abs()

    def slack(self, best_raw: float, rel: float) -> float:
        """Loss slack allowed by 'within rel of the best' (relative to the best value, or to 1 for goal one)."""
        if self.goal == "one":
            return rel
        return rel * abs(best_raw) if best_raw != 0 and math.isfinite(best_raw) else 0.0  # inf: PSNR of an exact copy

    def format(self, value: float) -> str:
        """Short human text: scientific notation for log-scale metrics, 3 significant digits otherwise."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "n/a"
        return f"{value:.2e}" if self.log else f"{value:.3g}"

    @property
    def direction_text(self) -> str:
        return {"min": "lower is better", "max": "higher is better", "one": "closer to 1 is better"}[self.goal]


METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("ode_error", "ODE error", "err", "min", log=True, exact_only_for_deterministic=True,
                   help="RMS distance (latent values) to the exact probability-flow ODE solution from the same "
                        "noise; for stochastic samplers a distance, not a convergence error"),
        MetricSpec("ref_rmse", "RMSE to reference", "rmse", "min", log=True,
                   exact_only_for_deterministic=True,
                   help="RMS distance to a reference solution from the same noise"),
        MetricSpec("clip_score", "CLIP score", "clip", "max", needs_real_weights=True,
                   help="100 x cos(image, text) per image with open_clip (not clamped at 0)"),
        MetricSpec("alignment", "alignment", "align", "max",
                   help="exact posterior probability of the prompt's concept given the image, 0 to 1"),
        MetricSpec("ref_psnr", "PSNR to reference", "psnr", "max",
                   help="peak signal-to-noise ratio against the reference image, in dB"),
        MetricSpec("fidelity", "fidelity", "fid", "one",
                   help="min over the concept's components k of |x - mu_k| / (s sqrt(D)); about 1 for a true "
                        "sample, below 1 for over-smoothed images"),
        MetricSpec("coverage", "coverage", "cov", "min",
                   help="total variation between how often each mixture component is reached over the seeds "
                        "and its true weight; catches mode collapse"),
    )
}

# Order in which a tile caption picks its "main quality figure".
MAIN_METRIC_ORDER: tuple[str, ...] = ("ode_error", "ref_rmse", "clip_score", "alignment", "ref_psnr",
                                      "fidelity", "coverage")


def present_metrics(results: pd.DataFrame) -> list[MetricSpec]:
    """Known metrics that have at least one value in this run, in registry order."""
    return [spec for name, spec in METRICS.items()
            if name in results.columns and results[name].notna().any()]


def main_metric(results: pd.DataFrame) -> MetricSpec | None:
    """The metric shown on grid tiles: the first of MAIN_METRIC_ORDER with values."""
    names = {m.name for m in present_metrics(results)}
    return next((METRICS[n] for n in MAIN_METRIC_ORDER if n in names), None)
