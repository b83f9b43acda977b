"""Is a timing change real or noise? A one-sided Mann-Whitney U test on the raw repeats.

Rank-based, so one slow first repeat (a cold cache) does not decide anything, and no normality is assumed
(asv and pyperf also refuse to call a change from medians alone). Exact for small samples, ties included:
the null distribution of the rank sum is counted over every way to pick the current sample's ranks.
Larger samples use the normal approximation with tie and continuity corrections
(Mann & Whitney 1947; the tie-corrected variance as in Lehmann, Nonparametrics, 1975, eq. 1.26).
"""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from typing import Sequence

#: largest pooled sample size for the exact test; beyond it the normal approximation is accurate
EXACT_MAX = 24


def midranks(values: Sequence[float]) -> list[float]:
    """1-based ranks of `values`, tied values sharing the average of their ranks."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start : end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def min_p_value(n_current: int, n_baseline: int) -> float:
    """The smallest one-sided p-value these sample sizes can give (all current repeats above the baseline's)."""
    return 1 / math.comb(n_current + n_baseline, n_current)


def p_greater(current: Sequence[float], baseline: Sequence[float]) -> float:
    """One-sided p-value of "current tends to be larger than baseline"; 1.0 when either side is empty."""
    if not current or not baseline:
        return 1.0
    return _p_greater(tuple(current), tuple(baseline))


@lru_cache(maxsize=4096)  # cells of one batch share their repeats: compute once
def _p_greater(current: tuple[float, ...], baseline: tuple[float, ...]) -> float:
    ranks = midranks(list(current) + list(baseline))
    if len(ranks) <= EXACT_MAX:
        return _exact(tuple(int(2 * r) for r in ranks), len(current))
    return _normal(ranks, len(current), len(baseline))


def _exact(doubled_ranks: tuple[int, ...], n: int) -> float:
    """P(rank sum of n items drawn at random >= the observed sum of the first n), by counting subsets."""
    observed = sum(doubled_ranks[:n])
    ways: list[Counter] = [Counter() for _ in range(n + 1)]
    ways[0][0] = 1
    for rank in doubled_ranks:
        for k in range(n, 0, -1):
            for total, count in ways[k - 1].items():
                ways[k][total + rank] += count
    at_least = sum(count for total, count in ways[n].items() if total >= observed)
    return at_least / math.comb(len(doubled_ranks), n)


def _normal(ranks: list[float], n1: int, n2: int) -> float:
    size = n1 + n2
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    ties = Counter(ranks).values()
    variance = n1 * n2 / 12 * ((size + 1) - sum(t**3 - t for t in ties) / (size * (size - 1)))
    if variance <= 0:
        return 1.0
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
