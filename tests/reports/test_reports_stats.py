"""Noise tests of the report against scipy's reference implementations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from reports.stats import bootstrap_interval, mann_whitney_p, slower


@pytest.mark.parametrize("seed", range(6))
def test_mann_whitney_matches_scipy_asymptotic(seed):
    rng = np.random.default_rng(seed)
    a = np.round(rng.normal(1.0, 0.1, 12 + seed), 2)  # rounding makes ties
    b = np.round(rng.normal(1.0 + 0.04 * seed, 0.1, 9 + 2 * seed), 2)
    expected = stats.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True).pvalue
    assert mann_whitney_p(a, b) == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_slower_needs_both_a_higher_median_and_significance():
    fast, slow = [1.0, 1.01, 0.99, 1.02, 0.98] * 4, [1.3, 1.31, 1.29, 1.32, 1.28] * 4
    assert slower(slow, fast) and not slower(fast, slow)
    assert not slower([1.0, 1.4], [1.1, 1.2])  # two samples each: never significant
    assert not slower([], fast) and mann_whitney_p([], fast) == 1.0


def test_bootstrap_interval_covers_the_mean_and_excludes_zero_for_a_clear_shift():
    rng = np.random.default_rng(1)
    shifted = rng.normal(0.5, 0.1, 40)
    lo, hi = bootstrap_interval(shifted)
    assert lo < shifted.mean() < hi and lo > 0
    noise = rng.normal(0.0, 0.1, 40)
    lo, hi = bootstrap_interval(noise)
    assert lo < 0 < hi
    assert bootstrap_interval([0.2, 0.2, 0.2]) == (pytest.approx(0.2), pytest.approx(0.2))
    assert all(np.isnan(bootstrap_interval([float("nan")])))
    assert bootstrap_interval(noise) == bootstrap_interval(noise)  # a fixed generator: same page twice
