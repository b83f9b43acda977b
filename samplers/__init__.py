"""The sampler registry: k-diffusion and diffusers families, schedules, names and aliases.

`resolve(name, schedule, options)` turns any UI's name into a `SamplerSpec` (no torch imported);
`run(spec, task)` runs one batch through the spec's family adapter and hands back the latents with the
model evaluations per image; `sample(spec, task)` is its latents. docs/samplers.md has the
names, the fairness rules and where the two libraries differ.
"""

from dataclasses import replace
from typing import Any

from samplers.algorithms import BadOption
from samplers.base import Sampled, SamplerSpec, SampleTask
from samplers.catalogue import FAMILIES, SAMPLERS, algorithm_of, resolve, runs_one_by_one
from samplers.plugins import user_sampler
from samplers.registry import SamplerError, UnknownName

__all__ = [
    "FAMILIES",
    "SAMPLERS",
    "BadOption",
    "SamplerError",
    "SamplerSpec",
    "SampleTask",
    "Sampled",
    "UnknownName",
    "algorithm_of",
    "prepare",
    "resolve",
    "run",
    "runs_one_by_one",
    "sample",
    "user_sampler",
]


def prepare(spec: SamplerSpec):
    """The family adapter of `spec`, imported on first use (heavy libraries load here, untimed)."""
    return FAMILIES.get(spec.family)


class _Counted:
    """An eps that counts its calls (a CFG pair is one evaluation); other attributes pass through."""

    def __init__(self, eps: Any) -> None:
        self.eps, self.calls = eps, 0

    def __call__(self, x: Any, t: Any) -> Any:
        self.calls += 1
        return self.eps(x, t)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.eps, name)

    def counting(self, pair: Any) -> Any:
        """The task's `eps_pair` (CFG++), its calls counted as evaluations of this eps: one call, one NFE."""

        def counted(x: Any, t: Any) -> Any:
            self.calls += 1
            return pair(x, t)

        return counted


def run(spec: SamplerSpec, task: SampleTask) -> Sampled:
    """Run one batch through the sampler's family adapter: clean latents and NFE per image."""
    eps = _Counted(task.eps)
    single = _Counted(task.eps_single) if task.eps_single is not None else None
    pair = eps.counting(task.eps_pair) if task.eps_pair is not None else None
    out = prepare(spec)(spec, replace(task, eps=eps, eps_single=single, eps_pair=pair))
    if isinstance(out, Sampled):
        return out
    return Sampled(out, (eps.calls,) * len(task.seeds))


def sample(spec: SamplerSpec, task: SampleTask):
    """Run one batch: clean latents [B, C, h, w] (`run` also gives the NFE)."""
    return run(spec, task).latents
