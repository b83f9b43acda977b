"""Loaders named by the model registry: YAML options -> a model (these import torch)."""

from __future__ import annotations

from typing import Any

import torch


def analytic(options: dict[str, Any]):
    from bench.models.analytic import AnalyticModel

    return AnalyticModel(
        components=options.get("components", 4),
        std=options.get("std", 0.1),
        dtype=getattr(torch, options.get("dtype", "float32")),
    )


def diffusers(options: dict[str, Any]):
    from bench.models.diffusers_model import load_diffusers_model

    return load_diffusers_model(options)
