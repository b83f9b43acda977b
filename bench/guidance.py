"""Classifier-free guidance over a model's eps, counting model evaluations (a CFG pair is one NFE)."""

from __future__ import annotations

from typing import Any

import torch


class GuidedEps:
    """eps(x_t, t) = eps_u + g (eps_c - eps_u), as one model call on the batch [x; x]."""

    def __init__(self, model: Any, cond: Any, uncond: Any, cfg_scale: float) -> None:
        self.model, self.cond, self.uncond, self.cfg_scale = model, cond, uncond, cfg_scale
        self.pair = None if cfg_scale == 1.0 else model.concat_cond(uncond, cond)
        self._both = None  # the [uncond; cond] pair at g = 1, built on first use by `with_uncond`
        self.calls = 0

    def with_uncond(self, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(guided eps, unconditional eps) from one call on [x; x], one NFE like `__call__` (CFG++ samplers
        re-noise with the unconditional eps, so they need it even at g = 1)."""
        self.calls += 1
        t = t.expand(x.shape[0]) if t.ndim == 0 else t
        pair = self.pair
        if pair is None:  # g = 1: __call__ skips the unconditional half, CFG++ still needs it
            if self._both is None:
                self._both = self.model.concat_cond(self.uncond, self.cond)
            pair = self._both
        eps_u, eps_c = self.model.eps(torch.cat([x, x]), torch.cat([t, t]), pair).chunk(2)
        return eps_u + self.cfg_scale * (eps_c - eps_u), eps_u

    def __call__(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        t = t.expand(x.shape[0]) if t.ndim == 0 else t
        if self.pair is None:  # g = 1 is the conditional model alone: skip the wasted half
            return self.model.eps(x, t, self.cond)
        eps_u, eps_c = self.model.eps(torch.cat([x, x]), torch.cat([t, t]), self.pair).chunk(2)
        return eps_u + self.cfg_scale * (eps_c - eps_u)
