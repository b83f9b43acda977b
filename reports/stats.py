"""Noise tests for the report's comparisons: is one configuration faster, or better, beyond its noise?

- Time: the Mann-Whitney U test (Mann & Whitney 1947) on the timing samples of two configurations
  (every repeat of every cell): rank-based, so one slow first batch cannot decide it; normal
  approximation with the tie correction, two-sided.
- Quality: a percentile bootstrap (Efron & Tibshirani 1993) of the mean paired difference over the
  cells two configurations share (same prompt and seed), with a fixed generator so a report is
  reproducible.
Pure numpy: the report adds no dependency for them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Samples = Sequence[float] | np.ndarray

ALPHA = 0.05
TIME_TEST = "Mann-Whitney U on timing samples, two-sided, p < 0.05"
QUALITY_TEST = "bootstrap 95 % interval of the mean paired difference over shared prompts and seeds"


def mann_whitney_p(a: Samples, b: Samples) -> float:
    """Two-sided p-value that samples a and b come from the same distribution (1.0 when untestable)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return 1.0
    both = np.concatenate([x, y])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    ranks[order] = np.arange(1, len(both) + 1)
    _, inverse, counts = np.unique(both, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = (sums / counts)[inverse]  # ties share their mean rank
    u = ranks[:n1].sum() - n1 * (n1 + 1) / 2
    n = n1 + n2
    tie = float((counts**3 - counts).sum()) / (n * (n - 1)) if n > 1 else 0.0
    var = n1 * n2 / 12 * ((n + 1) - tie)
    if var <= 0:
        return 1.0
    z = (abs(u - n1 * n2 / 2) - 0.5) / math.sqrt(var)  # continuity correction
    return float(min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2))))


def slower(a: Samples, b: Samples, alpha: float = ALPHA) -> bool:
    """a is slower than b beyond noise: a higher median and a significant U test."""
    if len(a) == 0 or len(b) == 0:
        return False
    return float(np.median(a)) > float(np.median(b)) and mann_whitney_p(a, b) < alpha


def bootstrap_interval(diff: Samples, n: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences; (nan, nan) when there are none."""
    d = np.asarray(diff, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return math.nan, math.nan
    if len(d) == 1 or np.all(d == d[0]):
        return float(d.mean()), float(d.mean())
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n, len(d)))].mean(axis=1)
    tail = (1 - level) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))
