"""Coverage, the one group-level metric: which component each seed reached, and the TV over a group.

The raw observation (the component index of each cell) is kept in the store's `metric_components`
table as soon as a batch is measured, so coverage can be completed when the last seed of a group
arrives, in this run or a resumed one. Then the group's value (and a note with the floor that exact
samples would score at this many seeds) is merged into every cell of the group: the cells already in
the store in one transaction, the cells of the current batch through the runner's own write.
"""

from __future__ import annotations

from typing import Any

from bench.metrics.exact import ExactMeasures, coverage, expected_coverage


def tracker(res: Any) -> "CoverageTracker":
    """The registry's entry point (`reports.metrics.METRICS["coverage"].function`)."""
    return CoverageTracker(res.store, res.exact, res.config.seeds)


class CoverageTracker:
    """Coverage over `seeds` for every group of cells this run measures."""

    def __init__(self, store: Any, exact: ExactMeasures, seeds: tuple[int, ...]) -> None:
        self.store, self.exact, self.seeds = store, exact, tuple(seeds)
        self.pending: dict[str, Any] = {}  # group key -> a cell of that group, until its coverage is written

    def add(self, batch: Any) -> dict[str, tuple[float, str]]:
        """Record the components of one batch (one group); {cell id: (coverage, note)} if it completed."""
        cells, latents = batch.cells, batch.latents
        first = cells[0]
        _, components = self.exact.nearest(latents, first.prompt, first.height, first.width)
        key = first.group_key()
        self.store.put_components([(c.id, key, int(k)) for c, k in zip(cells, components)])
        self.pending[key] = first
        current = {c.id for c in cells}
        found = self._components(first, current)
        if len(found) < len(self.seeds):
            return {}
        return self._write(key, first, found, current)

    def finish(self) -> None:
        """Groups some of whose seeds failed: coverage over the seeds that finished (at least two)."""
        for key, cell in list(self.pending.items()):
            found = self._components(cell, set())
            if len(found) >= 2:
                self._write(key, cell, found, set())
            self.pending.pop(key, None)

    def _components(self, cell: Any, current: set[str]) -> dict[str, int]:
        """Component of each seed of the cell's group that is finished (ok in the store or in `current`)."""
        rows = self.store.components([cell.with_(seed=s).id for s in self.seeds])
        return {cid: comp for cid, comp, status in rows if status == "ok" or cid in current}

    def _write(self, key: str, cell: Any, found: dict[str, int], current: set[str]) -> dict[str, tuple[float, str]]:
        weights = self.exact.weights(cell.prompt, cell.height, cell.width)
        n = len(found)
        value = coverage(list(found.values()), weights)
        note = (
            f"coverage: over {n} seeds; exact samples score {expected_coverage(n, weights):.3f} on average at {n} seeds"
        )
        if n < len(self.seeds):
            note += f" (only {n} of {len(self.seeds)} seeds finished)"
        stored = {cid: ({"coverage": value}, [note]) for cid in found if cid not in current}
        if stored:
            self.store.update_metrics(stored)
        self.pending.pop(key, None)
        return {cid: (value, note) for cid in found if cid in current}
