"""Shared pieces of the sampler tests: the task the runner builds (fixtures `model`, `one_thread`: conftest)."""

from __future__ import annotations

from dataclasses import replace

import samplers
from bench.task import analytic_cells, build_task

SIZE, STEPS, PROMPT = 8, 3, "a blue square on yellow"


def make_task(model, seeds: tuple[int, ...], steps: int = STEPS) -> samplers.SampleTask:
    """What the runner builds (bench.task): guided eps (CFG 7), the shared starting noise, per-image seeds."""
    task = build_task(model, analytic_cells(PROMPT, SIZE, 7.0, steps, seeds))
    if task.eps_single is None:  # a batch of one: its own eps serves as the single-image eps too
        task = replace(task, eps_single=task.eps)
    return task
