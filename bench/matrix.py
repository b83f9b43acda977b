"""The run matrix: a config expands into cells (one image each), grouped into batches of seeds."""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterator

from bench.config import Config, SamplerChoice
from bench.models import ModelSpec

#: bump only when the meaning of an existing id field changes
CELL_ID_VERSION = 1


@dataclass(frozen=True)
class Cell:
    """One image. Its id hashes everything that changes the image, and nothing else."""

    model: ModelSpec
    prompt: str
    negative_prompt: str
    seed: int
    sampler: SamplerChoice
    steps: int
    cfg_scale: float
    width: int
    height: int
    clip_skip: int

    def identity(self) -> dict[str, Any]:
        return {"v": CELL_ID_VERSION, "model": self.model.identity(), "prompt": self.prompt,
                "negative_prompt": self.negative_prompt, "seed": self.seed,
                "sampler": self.sampler.spec.id, "steps": self.steps, "cfg_scale": self.cfg_scale,
                "width": self.width, "height": self.height, "clip_skip": self.clip_skip}

    @cached_property
    def id(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def group_key(self) -> tuple:
        """Cells equal but for the seed run together as one batch."""
        return (self.model.key(), self.prompt, self.negative_prompt, self.sampler.spec.id, self.steps,
                self.cfg_scale, self.width, self.height, self.clip_skip)

    def params(self) -> dict[str, Any]:
        """The flat parameters stored with the cell."""
        spec = self.sampler.spec
        return {"model": self.model.label, "prompt": self.prompt, "negative_prompt": self.negative_prompt,
                "seed": self.seed, "sampler": self.sampler.written, "sampler_id": spec.id,
                "family": spec.family, "algorithm": spec.algorithm, "schedule": spec.schedule,
                "stochastic": spec.stochastic, "steps": self.steps, "cfg_scale": self.cfg_scale,
                "width": self.width, "height": self.height, "clip_skip": self.clip_skip}


def expand(config: Config) -> list[Cell]:
    """Every cell of the config, in a stable order (model, prompt, ..., sampler, steps, seed)."""
    axes = itertools.product(config.models, config.prompts, config.negative_prompts, config.sizes,
                             config.clip_skips, config.cfg_scales, config.samplers, config.steps,
                             config.seeds)
    return [Cell(model, prompt, negative, seed, sampler, steps, cfg, width, height, clip_skip)
            for model, prompt, negative, (width, height), clip_skip, cfg, sampler, steps, seed in axes]


def batches(cells: list[Cell], batch_size: int) -> Iterator[list[Cell]]:
    """Cells grouped by everything but the seed, in chunks of at most `batch_size` seeds."""
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.group_key(), []).append(cell)
    for group in groups.values():
        for start in range(0, len(group), batch_size):
            yield group[start:start + batch_size]
