"""The sampler registry: k-diffusion and diffusers families, schedules, names and aliases."""
from samplers.base import SamplerSpec, SampleTask
from samplers.catalogue import FAMILIES, SAMPLERS, resolve
from samplers.registry import UnknownName

import importlib

__all__ = ["FAMILIES", "SAMPLERS", "SamplerSpec", "SampleTask", "UnknownName", "prepare", "resolve",
           "sample"]


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
