"""The one declaration of every quality metric: label, direction, scope, models, code, help.

The harness (`bench.metrics`) reads this table to know which metrics exist, where they can be measured
and which function computes them (a lazy "module:attr" string: nothing heavy is imported here, and the
report never imports bench); the report reads it to sort, plot and recommend. A float column that is
not listed here is shown in the table but never ranked: guessing a direction would produce a wrong
recommendation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # the harness reads this table while parsing configs: keep the import light
    import pandas as pd

Goal = Literal["min", "max", "one"]
#: cell: one value per image; group: one value per group of seeds (all axes but the seed), repeated on
#: its cells; set: one value per sampler x steps (x model, cfg, size...) over every prompt and seed
Scope = Literal["cell", "group", "set"]


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
    scope: Scope = "cell"
    models: tuple[str, ...] = ()  # model kinds it can be measured on; () = every model
    function: str = ""  # "module:attr": cell -> f(resources, batch); group/set -> f(resources) a tracker
    install: str = ""  # the pip command when it needs an optional package (a warning names it)

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


_CALC = "bench.metrics.calculators"
_QUALITY = "pip install 'samplerbench[quality]'"

METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec(
            "ode_error",
            "ODE error",
            "err",
            "min",
            log=True,
            exact_only_for_deterministic=True,
            models=("analytic",),
            function=f"{_CALC}:ode_error",
            help="RMS distance (latent values) to the exact probability-flow ODE solution from the same "
            "noise; for stochastic samplers a distance, not a convergence error",
        ),
        MetricSpec(
            "ref_rmse",
            "RMSE to reference",
            "rmse",
            "min",
            log=True,
            exact_only_for_deterministic=True,
            function=f"{_CALC}:ref_rmse",
            help="RMS distance to a reference solution from the same noise",
        ),
        MetricSpec(
            "clip_score",
            "CLIP score",
            "clip",
            "max",
            needs_real_weights=True,
            function=f"{_CALC}:clip_score",
            help="100 x cos(image, text) per image with open_clip (not clamped at 0)",
        ),
        MetricSpec(
            "hps",
            "HPS v2.1",
            "hps",
            "max",
            needs_real_weights=True,
            function="bench.metrics.preference:hps",
            help="Human Preference Score v2.1: cos(image, text) of an open_clip ViT-H-14 fine-tuned on "
            "798k human choices (Wu et al. 2023); about 0.2-0.35",
        ),
        MetricSpec(
            "pick_score",
            "PickScore",
            "pick",
            "max",
            needs_real_weights=True,
            function="bench.metrics.preference:pick_score",
            help="PickScore v1: logit_scale x cos(image, text) of a CLIP-H fine-tuned on Pick-a-Pic "
            "preferences (Kirstain et al. 2023); about 18-23",
        ),
        MetricSpec(
            "image_reward",
            "ImageReward",
            "ir",
            "max",
            needs_real_weights=True,
            function="bench.metrics.image_reward:image_reward",
            help="ImageReward v1.0: a BLIP reward model trained on 137k expert comparisons of generated "
            "images (Xu et al. 2023); about -2 to 2, 0 = the average training image",
        ),
        MetricSpec(
            "lpips",
            "LPIPS to reference",
            "lpips",
            "min",
            needs_real_weights=True,
            exact_only_for_deterministic=True,
            function="bench.metrics.perceptual:lpips_distance",
            install=_QUALITY,
            help="learned perceptual distance (Zhang et al. 2018, AlexNet) to the reference image from "
            "the same noise; 0 = same image",
        ),
        MetricSpec(
            "alignment",
            "alignment",
            "align",
            "max",
            models=("analytic",),
            function=f"{_CALC}:alignment",
            help="exact posterior probability of the prompt's concept given the image, 0 to 1",
        ),
        MetricSpec(
            "ref_psnr",
            "PSNR to reference",
            "psnr",
            "max",
            function=f"{_CALC}:ref_psnr",
            help="peak signal-to-noise ratio against the reference image, in dB",
        ),
        MetricSpec(
            "fidelity",
            "fidelity",
            "fid",
            "one",
            models=("analytic",),
            function=f"{_CALC}:fidelity",
            help="min over the concept's components k of |x - mu_k| / (s sqrt(D)); about 1 for a true "
            "sample, below 1 for over-smoothed images",
        ),
        MetricSpec(
            "coverage",
            "coverage",
            "cov",
            "min",
            models=("analytic",),
            scope="group",
            function="bench.metrics.coverage:tracker",
            help="total variation between how often each mixture component is reached over the seeds "
            "and its true weight; catches mode collapse",
        ),
        MetricSpec(
            "fid",
            "FID",
            "FID",
            "min",
            needs_real_weights=True,
            scope="set",
            function="bench.metrics.distribution:fid_tracker",
            install=_QUALITY,
            help="Frechet Inception distance (Heusel et al. 2017) of each sampler x steps' images, over "
            "every prompt and seed, to the reference set; biased upwards at small N",
        ),
        MetricSpec(
            "kid",
            "KID",
            "KID",
            "min",
            log=True,
            needs_real_weights=True,
            scope="set",
            function="bench.metrics.distribution:kid_tracker",
            install=_QUALITY,
            help="kernel Inception distance (Binkowski et al. 2018): unbiased squared MMD, cubic "
            "polynomial kernel on Inception features, to the reference images",
        ),
    )
}

#: metrics that cannot be measured here, with the reason (`metrics:` naming one is an error saying why)
UNAVAILABLE: dict[str, str] = {}

# Order in which a tile caption picks its "main quality figure".
MAIN_METRIC_ORDER: tuple[str, ...] = (
    "ode_error",
    "ref_rmse",
    "clip_score",
    "hps",
    "pick_score",
    "image_reward",
    "lpips",
    "alignment",
    "ref_psnr",
    "fidelity",
    "coverage",
    "fid",
    "kid",
)


def present_metrics(results: pd.DataFrame) -> list[MetricSpec]:
    """Known metrics that have at least one value in this run, in registry order."""
    return [spec for name, spec in METRICS.items() if name in results.columns and results[name].notna().any()]


def main_metric(results: pd.DataFrame) -> MetricSpec | None:
    """The metric shown on grid tiles: the first of MAIN_METRIC_ORDER with values."""
    names = {m.name for m in present_metrics(results)}
    return next((METRICS[n] for n in MAIN_METRIC_ORDER if n in names), None)
