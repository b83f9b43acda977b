"""The sampler registry: k-diffusion and diffusers families, schedules, names and aliases.

`resolve(name, schedule, options)` turns any UI's name into a `SamplerSpec` (no torch imported);
`sample(spec, task)` runs one batch through the spec's family adapter. docs/samplers.md has the
names, the fairness rules and where the two libraries differ.
"""
import importlib

from samplers.algorithms import BadOption
from samplers.base import SampleTask, SamplerSpec
from samplers.catalogue import FAMILIES, SAMPLERS, algorithm_of, resolve, runs_one_by_one
from samplers.plugins import user_sampler
from samplers.registry import SamplerError, UnknownName

__all__ = ["FAMILIES", "SAMPLERS", "BadOption", "SamplerError", "SamplerSpec", "SampleTask", "UnknownName",
           "algorithm_of", "prepare", "resolve", "runs_one_by_one", "sample", "user_sampler"]


def prepare(spec: SamplerSpec):
    """The family adapter of `spec`, imported on first use (heavy libraries load here, untimed)."""
    adapter = FAMILIES[spec.family]
    if isinstance(adapter, str):
        module, _, attr = adapter.partition(":")
        adapter = FAMILIES[spec.family] = getattr(importlib.import_module(module), attr)
    return adapter


def sample(spec: SamplerSpec, task: SampleTask):
    """Run one batch through the sampler's family adapter: clean latents [B, C, h, w]."""
    return prepare(spec)(spec, task)
