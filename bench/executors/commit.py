"""The driver's side of a distributed run: it is the store's only writer, and commits exactly once.

Ray's retries are at-least-once (a batch whose worker died may have finished), but a cell id is a
hash of what the cell is, so the commit is idempotent by id: a result for a cell already committed in
this run is dropped and counted. Each accepted result is written at once, PNG then row, through the
local runner's own `_write`, with the metrics computed here (`MetricStage`): the store is complete up
to the last finished batch, and a killed driver resumes from it like a local run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.matrix import Cell


class DriverModel:
    """The model as the driver sees it: identity and flags as a worker reported them. What only the
    model can answer (the analytic mixture of the exact metrics, a reference sampler's run) loads the
    model in the driver, once, on first use; a run whose metrics need none of it never loads it here."""

    def __init__(self, config: Any, spec: Any, description: dict[str, Any]) -> None:
        self._config, self._spec, self._model = config, spec, None
        self._identity = dict(description["identity"])
        self._device_type = description["device_type"]
        self.random_weights = bool(description["random_weights"])
        self.torch_threads_wanted: int | None = description.get("torch_threads")

    def identity(self) -> dict[str, Any]:
        return dict(self._identity)

    @property
    def device(self) -> Any:
        """The loaded model's device; before that, the workers' device type where the driver has one
        (the CLIP model of clip_score is placed there), else the CPU."""
        import torch

        if self._model is not None:
            return self._model.device
        cuda = self._device_type == "cuda" and torch.cuda.is_available()
        return torch.device("cuda" if cuda else "cpu")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if self._model is None:
            from bench.runner import load_for

            self._model = load_for(self._config, self._spec)
        return getattr(self._model, name)


def outcome_of(cell: Cell, result: dict[str, Any]) -> Any:
    """A worker's plain result back into a `CellOutcome` on the driver's own cell."""
    import torch

    from bench.session import CellOutcome

    latents = result["latents"]
    return CellOutcome(
        cell,
        result["status"],
        result["error"],
        result["batch_size"],
        result["nfe"],
        result["times"],
        result["sample_repeats"],
        result["peak_mem"],
        None if latents is None else torch.from_numpy(latents.copy()),
        result["image"],
    )


def failed_outcomes(cells: list[Cell], error: str) -> list[Any]:
    from bench.session import CellOutcome

    return [CellOutcome(cell, "failed", error, len(cells)) for cell in cells]


def device_warnings(workers: list[dict[str, Any]]) -> list[str]:
    """A warning when one run's cells were timed on different kinds of device."""
    kinds = sorted({f"{w['device_type']} ({w['device_name']})" for w in workers})
    if len(kinds) < 2:
        return []
    return [
        (
            f"mixed devices in one run: {', '.join(kinds)}; times and memory compare only between cells "
            "of one device (the worker column names each cell's host and device)"
        )
    ]


def run_environment(worker: dict[str, Any], address: str | None) -> dict[str, Any]:
    """The run's environment: the first worker's (device, packages, threads: what timed the cells) and
    the driver's git hash, so `bench check` compares like with like; every worker is in the meta."""
    from bench.environment import git_hash

    return {**worker["environment"], "git": git_hash(Path.cwd()), "executor": {"kind": "ray", "address": address}}


class Committer:
    """Commits one model's results: dedupe by cell id, metrics, PNG + row; counts what it dropped."""

    def __init__(self, config: Any, store: Any, model: DriverModel, run_id: int) -> None:
        from bench.metrics.stage import MetricStage

        self.store, self.model, self.run_id = store, model, run_id
        self.threads = model.torch_threads_wanted
        self.metrics = MetricStage(config, model, store)
        self.committed: set[str] = set()
        self.duplicates = 0

    def commit(self, outcomes: list[Any], worker: str | None) -> tuple[int, int]:
        """Write the outcomes not committed yet; (cells written, of which failed)."""
        from bench.runner import _write, torch_threads

        fresh = [o for o in outcomes if o.cell.id not in self.committed]
        self.duplicates += len(outcomes) - len(fresh)
        if not fresh:
            return 0, 0
        with torch_threads(self.threads):  # the metrics compute with the model's threads, as locally
            measured = self.metrics.per_batch(fresh)
        for outcome, values in zip(fresh, measured):
            _write(self.store, outcome, self.run_id, self.model, values, worker=worker)
            self.committed.add(outcome.cell.id)
        return len(fresh), sum(o.status != "ok" for o in fresh)

    def finish(self) -> list[str]:
        """Group metrics left open, metric seconds; the metrics' warnings."""
        self.metrics.finish()
        return list(self.metrics.warnings)
