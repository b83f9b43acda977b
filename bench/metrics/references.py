"""Reference solutions per (prompt, negative prompt, seed, cfg, size, clip skip) group, cached in the store.

A reference is what a perfect sampler would produce from the cell's own starting noise:
- analytic model: the probability-flow ODE solved in float64 to ~1e-10 (`ode_reference`), with its own
  error measured by a second solve at a 10x looser tolerance;
- any other model: `reference: {sampler, steps}` (default Heun Karras, 200 steps; see `settings`),
  its error unknown (None).
Each is computed once per group (all seeds missing from a batch in one solve), kept in memory for the
run and in the store's `metric_references` table (one committed transaction per batch of groups), so
a resumed or extended run reuses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch


@dataclass(frozen=True)
class Ref:
    """One group's reference: clean latents [C, h, w], decoded image (uint8 [H, W, 3]) and error."""

    latents: torch.Tensor
    image: np.ndarray
    error: float | None
    info: dict[str, Any]


def group_identity(cell: Any, method: str) -> str:
    """Everything in the cell's id but what the user chooses (sampler, steps), and how it is made."""
    return json.dumps({"cell": cell.task_identity(), "method": method}, sort_keys=True)


def _blob(array: np.ndarray) -> tuple[bytes, str, str]:
    array = np.ascontiguousarray(array)
    return array.tobytes(), json.dumps(list(array.shape)), str(array.dtype)


class ReferenceCache:
    """References of one model, computed on demand by `make(cells) -> list[Ref]` (same group but seed)."""

    def __init__(self, store: Any, method: str, make: Callable[[list[Any]], list[Ref]]) -> None:
        self.store, self.method, self.make = store, method, make
        self._memory: dict[str, Ref] = {}

    def get(self, cells: list[Any]) -> list[Ref]:
        """The reference of each cell (cells of one batch: the same group but for the seed)."""
        keys = [group_identity(cell, self.method) for cell in cells]
        missing = [(key, cell) for key, cell in zip(keys, cells) if not self._lookup(key)]
        unique = list({key: cell for key, cell in missing}.items())
        if unique:
            made = self.make([cell for _, cell in unique])
            self._save({key: ref for (key, _), ref in zip(unique, made)})
        return [self._memory[key] for key in keys]

    def _lookup(self, key: str) -> bool:
        if key in self._memory:
            return True
        row = self.store.get_reference(key)
        if row is None:
            return False
        latents = np.frombuffer(row[0], dtype=row[2]).reshape(json.loads(row[1]))
        image = np.frombuffer(row[3], dtype=np.uint8).reshape(json.loads(row[4]))
        self._memory[key] = Ref(torch.from_numpy(latents.copy()), image.copy(), row[5], json.loads(row[6]))
        return True

    def _save(self, refs: dict[str, Ref]) -> None:
        rows = []
        for key, ref in refs.items():
            latents, latents_shape, dtype = _blob(ref.latents.numpy())
            image, image_shape, _ = _blob(ref.image)
            rows.append((key, latents, latents_shape, dtype, image, image_shape, ref.error, json.dumps(ref.info)))
        self.store.put_references(rows)
        self._memory.update(refs)


def analytic_maker(model: Any) -> tuple[str, Callable[[list[Any]], list[Ref]]]:
    """(method id, maker) of exact ODE references on an AnalyticModel: one solve per batch of seeds."""
    from bench.metrics import ode_reference as ode
    from bench.task import starting_noise

    method = f"pf-ode/lsoda/rtol={ode.RTOL / ode.TIGHTER:g}/v{ode.SOLVER_VERSION}"

    def make(cells: list[Any]) -> list[Ref]:
        first = cells[0]
        shape = model.latent_shape(first.height, first.width)
        noise = torch.stack([starting_noise(c.seed, shape) for c in cells])
        problem = ode.problem_for(
            model, first.prompt, first.negative_prompt, first.cfg_scale, first.height, first.width
        )
        solved = ode.solve(problem, noise.reshape(len(cells), -1))
        latents = solved.latents.reshape(len(cells), *shape)
        images = model.decode(latents).numpy()
        return [
            Ref(latents[i], images[i], solved.errors[i], {"calls": s.calls, "jacobians": s.jacobians, "stiff": s.stiff})
            for i, s in enumerate(solved.stats)
        ]

    return method, make


def sampler_maker(model: Any, settings: Any) -> tuple[str, Callable[[list[Any]], list[Ref]]]:
    """(method id, maker) of references by a deterministic sampler at many steps (any model)."""
    import samplers
    from bench.task import build_task

    method = f"sampler/{settings.spec.id}/{settings.steps}"

    def make(cells: list[Any]) -> list[Ref]:
        with torch.inference_mode():
            task = build_task(model, cells, steps=settings.steps)
            latents = samplers.sample(settings.spec, task)
            images = model.decode(latents).cpu().numpy()
        latents = latents.detach().float().cpu()
        info = {"sampler": settings.spec.id, "steps": settings.steps}
        return [Ref(latents[i], images[i], None, info) for i in range(len(cells))]

    return method, make
