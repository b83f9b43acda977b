"""Per-cell metrics: one function per metric name, over the finished images of one batch.

A calculator takes the stage's `Resources` and a `Batch` (cells of one group, their clean latents and
decoded images) and returns one (value or None, note or None) per cell. None is "not measured" and
always comes with a note saying why: a figure that cannot be had is never replaced by a number.
Each is named in the one metric table (`reports.metrics.METRICS`, field `function`). Group-level
metrics (coverage) are in `bench.metrics.coverage`, set-level ones (FID, KID) in `bench.metrics.distribution`.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from bench.errors import UserError

Value = tuple[float | None, str | None]

STOCHASTIC_NOTE = (
    "ode_error: stochastic sampler: a distance to the ODE solution from the same noise, not a convergence error"
)
STIFF_NOTE = (
    "ode_error: the guided ODE is stiff here (the reference solver went implicit); explicit "
    "samplers may need very many steps to converge"
)


@dataclass(frozen=True)
class Batch:
    """The finished cells of one batch (one group but for the seed), CPU tensors."""

    cells: list[Any]
    latents: torch.Tensor  # [n, C, h, w] float32
    images: np.ndarray  # [n, H, W, 3] uint8


class Resources:
    """What metrics share across batches of one model, each loaded on first use (the CLIP model once)."""

    def __init__(self, config: Any, model: Any, kind: str, store: Any, warnings: list[str]) -> None:
        self.config, self.model, self.kind, self.store, self.warnings = config, model, kind, store, warnings
        self._exact: Any = None
        self._refs: Any = None
        self.clip: Any = None
        self.clip_missing: str | None = None
        self.offline = bool(getattr(config, "offline", False))
        self._scorers: dict[str, Any] = {}
        self.missing: dict[str, str] = {}
        self.random_metrics: set[str] = set()  # metrics whose own model has random weights (flagged)

    @property
    def exact(self):
        if self._exact is None:
            from bench.metrics.exact import ExactMeasures

            self._exact = ExactMeasures(self.model)
        return self._exact

    @property
    def references(self):
        if self._refs is None:
            from bench.metrics import references as refs
            from bench.metrics.settings import DEFAULT_REFERENCE_SAMPLER, DEFAULT_REFERENCE_STEPS, ReferenceSettings

            if self.kind == "analytic":
                method, make = refs.analytic_maker(self.model)
            else:
                settings = getattr(self.config, "reference", None)
                if settings is None:
                    import samplers

                    settings = ReferenceSettings(
                        DEFAULT_REFERENCE_SAMPLER, samplers.resolve(DEFAULT_REFERENCE_SAMPLER), DEFAULT_REFERENCE_STEPS
                    )
                method, make = refs.sampler_maker(self.model, settings)
            self._refs = refs.ReferenceCache(self.store, method, make)
        return self._refs

    def scorer(self, name: str, load: Callable[[], Any]) -> Any:
        """A metric's model, loaded once by `load()`; None (with one warning naming the fix) when its
        package or weights are missing: the run goes on without that column."""
        from bench.metrics.weights import WeightsMissing

        if name not in self._scorers:
            try:
                self._scorers[name] = load()
                if getattr(self._scorers[name], "random_weights", False):
                    self.random_metrics.add(name)
            except (WeightsMissing, ImportError) as exc:
                self._scorers[name] = None
                self.missing[name] = _missing_message(name, exc)
                self.warnings.append(self.missing[name])
                print(f"bench: warning: {self.missing[name]}", file=sys.stderr)
        return self._scorers[name]

    def not_measured(self, name: str, batch: "Batch") -> list[Value]:
        """(None, why) for every cell of `batch`: the metric's model could not be loaded."""
        return [(None, f"{name}: not measured: {self.missing.get(name, 'unavailable')}")] * len(batch.cells)

    def load_clip(self) -> None:
        """Load the CLIP model once; missing weights: a warning, a stderr line, no column."""
        from bench.metrics.clip_score import ClipWeightsMissing
        from bench.metrics.settings import ClipSettings

        settings = getattr(self.config, "clip", None) or ClipSettings()
        try:
            self.clip = _load_clip(settings.model, settings.pretrained, str(self.model.device), self.offline)
        except ClipWeightsMissing as exc:
            self.clip_missing = f"clip_score not measured: {exc}"
            self.warnings.append(self.clip_missing)
            print(f"bench: warning: {self.clip_missing}", file=sys.stderr)
        except UserError as exc:
            raise UserError(f"{settings.origin}: {exc}") from None


def _missing_message(name: str, exc: Exception) -> str:
    from reports.metrics import METRICS

    if isinstance(exc, ImportError):
        package = getattr(exc, "name", None) or str(exc)
        install = METRICS[name].install or f"pip install {package}"
        return f"{name} not measured: the package {package!r} is not installed; install it with: {install}"
    return f"{name} not measured: {exc}"


_CLIP_MODELS: dict[tuple[str, str, str], Any] = {}


def _load_clip(model: str, pretrained: str, device: str, offline: bool) -> Any:
    """One ClipScorer per (model, weights, device) per process: a run with several models loads it once."""
    from bench.metrics.clip_score import ClipScorer

    key = (model, pretrained, device)
    if key not in _CLIP_MODELS:
        _CLIP_MODELS[key] = ClipScorer.load(model, pretrained, device=device, offline=offline)
    return _CLIP_MODELS[key]


def _rms(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a.to(torch.float64) - b.to(torch.float64)) ** 2).mean().sqrt())


def ode_error(res: Resources, batch: Batch) -> list[Value]:
    refs = res.references.get(batch.cells)
    out: list[tuple[float | None, str | None]] = []
    for cell, x, ref in zip(batch.cells, batch.latents, refs):
        notes = [STOCHASTIC_NOTE] if cell.sampler.spec.stochastic else []
        if ref.info.get("stiff"):
            notes.append(STIFF_NOTE)
        out.append((_rms(x, ref.latents), " ".join(notes) or None))
    return out


def ref_rmse(res: Resources, batch: Batch) -> list[Value]:
    refs = res.references.get(batch.cells)
    return [(_rms(x, ref.latents), None) for x, ref in zip(batch.latents, refs)]


def psnr(image: np.ndarray, reference: np.ndarray) -> float:
    """10 log10(255^2 / MSE) over uint8 pixels; inf when the images are identical."""
    mse = float(np.mean((image.astype(np.float64) - reference.astype(np.float64)) ** 2))
    return math.inf if mse == 0.0 else 10.0 * math.log10(255.0**2 / mse)


def ref_psnr(res: Resources, batch: Batch) -> list[Value]:
    refs = res.references.get(batch.cells)
    out: list[Value] = []
    for image, ref in zip(batch.images, refs):
        value = psnr(image, ref.image)
        out.append((value, "ref_psnr: identical to the reference image (PSNR infinite)" if math.isinf(value) else None))
    return out


def alignment(res: Resources, batch: Batch) -> list[Value]:
    first = batch.cells[0]
    if not first.prompt.strip():
        return [(None, "alignment: not measured: the empty prompt names no concept")] * len(batch.cells)
    values = res.exact.alignment(batch.latents, first.prompt, first.height, first.width)
    return [(v, None) for v in values]


def fidelity(res: Resources, batch: Batch) -> list[Value]:
    first = batch.cells[0]
    values, _ = res.exact.nearest(batch.latents, first.prompt, first.height, first.width)
    return [(v, None) for v in values]


def clip_score(res: Resources, batch: Batch) -> list[Value]:
    if res.clip is None:
        return [(None, "clip_score: not measured: CLIP weights missing (see the run's warnings)")] * len(batch.cells)
    result = res.clip.score(batch.images, [c.prompt for c in batch.cells])
    note = f"clip_score: prompt cut at the CLIP context ({res.clip.name})"
    return [(s, note if cut else None) for s, cut in zip(result.scores, result.truncated)]
