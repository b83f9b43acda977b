"""Exact quality measures on the analytic model: alignment, fidelity, the component reached, coverage.

All work on clean latents x (the image itself in [-1, 1], not clamped), flattened to D = 3 H W values,
against the Gaussian mixtures of `bench.models.analytic` (shared component std s):
- alignment: P(prompt's concept | x) under the unconditional vocabulary with the prompt's concept
  added when it is not in it (equal concept weights), the same posterior as
  `AnalyticModel.concept_posterior`, computed with |x - mu|^2 = |x|^2 - 2 x·mu + |mu|^2 on cached means.
- fidelity: min_k |x - mu_k| / (s sqrt(D)) over the prompt's components. A true sample
  x = mu_k + s z has |x - mu_k|^2 = s^2 chi^2_D, so fidelity = 1 +- 1/sqrt(2D); an over-smoothed image
  (too few steps, too much guidance pulling to a mean) scores below 1, a noisy one above.
- component: the index of that nearest mean, the mode the image reached.
- coverage: over the seeds of a group, 1/2 sum_k |n_k / n - w_k| (total variation between how often
  each component is reached and its weight). With few seeds even exact samples score well above 0:
  `expected_coverage(n, w)` is that floor (its mean over exact multinomial draws).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch


@dataclass(frozen=True)
class Components:
    """A mixture's means [K, D], |mu_k|^2 [K] and normalised log weights [K], float64."""

    means: torch.Tensor
    sq_norms: torch.Tensor
    log_w: torch.Tensor

    @classmethod
    def of(cls, means: torch.Tensor, log_w: torch.Tensor) -> "Components":
        means = means.to(torch.float64).reshape(means.shape[0], -1)
        log_w = log_w.to(torch.float64)
        return cls(means, (means * means).sum(1), log_w - torch.logsumexp(log_w, 0))

    def sq_distances(self, x: torch.Tensor) -> torch.Tensor:
        """|x_i - mu_k|^2 [B, K] for flat rows x [B, D] (float64, clamped at 0 against rounding)."""
        x = x.to(torch.float64)
        return ((x * x).sum(1, keepdim=True) - 2 * x @ self.means.T + self.sq_norms).clamp_min(0.0)


def flat(latents: torch.Tensor) -> torch.Tensor:
    return latents.detach().to("cpu", torch.float64).reshape(latents.shape[0], -1)


class ExactMeasures:
    """Mixtures of one analytic model, cached per (prompt, height, width): each is rendered once."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self._concepts: dict[tuple[str, int, int], Components] = {}
        self._posterior: dict[tuple[str, int, int], tuple[Components, slice]] = {}

    def components(self, prompt: str, height: int, width: int) -> Components:
        """The prompt's own mixture ("" gives the unconditional one)."""
        key = (prompt, height, width)
        if key not in self._concepts:
            mix = self.model.mixture_for(prompt, height, width)
            self._concepts[key] = Components.of(mix.means, mix.log_weights)
        return self._concepts[key]

    def _vocabulary_with(self, prompt: str, height: int, width: int) -> tuple[Components, slice]:
        """The vocabulary mixture with the prompt's concept (added if new), and the concept's rows."""
        from bench.models.concepts import parse_prompt, vocabulary

        key = (prompt, height, width)
        if key not in self._posterior:
            vocab, concept = vocabulary(), parse_prompt(prompt)
            base = self.model.mixture_for("", height, width)
            k = self.model.components
            means, log_w = base.means.to(torch.float64), base.log_weights.to(torch.float64)
            if concept in vocab:
                index = vocab.index(concept)
            else:  # one more concept, all concepts equally likely: weights (1/(n+1)) w_k
                own = self.model.mixture_for(prompt, height, width)
                means = torch.cat([means, own.means.to(torch.float64)])
                log_w = torch.cat([log_w + math.log(len(vocab)), own.log_weights.to(torch.float64)])
                index = len(vocab)
            self._posterior[key] = (Components.of(means, log_w), slice(index * k, (index + 1) * k))
        return self._posterior[key]

    def alignment(self, latents: torch.Tensor, prompt: str, height: int, width: int) -> list[float]:
        """P(the prompt's concept | x) per row; the empty prompt names no concept: ValueError."""
        if not prompt.strip():
            raise ValueError("the empty prompt names no concept")
        comps, mine = self._vocabulary_with(prompt, height, width)
        logits = comps.log_w - comps.sq_distances(flat(latents)) / (2 * self.model.std**2)
        log_p = torch.logsumexp(logits[:, mine], 1) - torch.logsumexp(logits, 1)
        return log_p.exp().tolist()

    def nearest(self, latents: torch.Tensor, prompt: str, height: int, width: int) -> tuple[list[float], list[int]]:
        """(fidelity, index of the nearest component) per row."""
        x = flat(latents)
        d2 = self.components(prompt, height, width).sq_distances(x)
        best, index = d2.min(dim=1)
        fidelity = best.sqrt() / (self.model.std * math.sqrt(x.shape[1]))
        return fidelity.tolist(), index.tolist()

    def weights(self, prompt: str, height: int, width: int) -> np.ndarray:
        return self.components(prompt, height, width).log_w.exp().numpy()


def coverage(components: list[int], weights: np.ndarray) -> float:
    """Total variation between the empirical frequency of each component and its weight."""
    counts = np.bincount(np.asarray(components, dtype=np.int64), minlength=len(weights))
    return float(0.5 * np.abs(counts / counts.sum() - weights).sum())


def expected_coverage(n: int, weights: np.ndarray, draws: int = 4000, seed: int = 0) -> float:
    """Mean coverage TV of n exact samples (multinomial draws, seeded): the floor at this many seeds."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, weights / weights.sum(), size=draws)
    return float((0.5 * np.abs(counts / n - weights).sum(axis=1)).mean())
