"""Shared pieces of the sampler tests: the task the runner builds (fixtures `model`, `one_thread`: conftest)."""

from __future__ import annotations

import samplers
from bench.config import SamplerChoice
from bench.matrix import Cell
from bench.models import ModelSpec
from bench.task import build_task

SIZE, STEPS, PROMPT = 8, 3, "a blue square on yellow"


def make_task(model, seeds: tuple[int, ...], steps: int = STEPS) -> samplers.SampleTask:
    """What the runner builds (bench.task): guided eps (CFG 7), the shared starting noise, per-image seeds."""
    euler = SamplerChoice("Euler", samplers.resolve("Euler"))
    cells = [
        Cell.of(
            model=ModelSpec("analytic"),
            prompt=PROMPT,
            negative_prompt="",
            size=(SIZE, SIZE),
            clip_skip=1,
            cfg_scale=7.0,
            sampler=euler,
            steps=steps,
            noise="samplerbench",
            seed=s,
        )
        for s in seeds
    ]
    task = build_task(model, cells)
    if task.eps_single is None:  # a batch of one: its own eps serves as the single-image eps too
        from dataclasses import replace

        task = replace(task, eps_single=task.eps)
    return task
