"""Coverage, the one group-level metric: which component each seed reached, and the TV over a group.

The raw observation (the component index of each cell) is kept in the store's `metric_components`
table as soon as a batch is measured, so coverage can be completed when the last seed of a group
arrives, in this run or a resumed one. Then the group's value (and a note with the floor that exact
samples would score at this many seeds) is merged into every cell of the group: the cells already in
the store in one transaction, the cells of the current batch through the runner's own write.
"""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from bench.metrics.exact import ExactMeasures, coverage, expected_coverage

_TABLE = ("CREATE TABLE IF NOT EXISTS metric_components (cell_id TEXT PRIMARY KEY, group_key TEXT, "
          "component INTEGER)")


def tracker(res: Any) -> "CoverageTracker":
    """The registry's entry point (`reports.metrics.METRICS["coverage"].function`)."""
    return CoverageTracker(res.store, res.exact, res.config.seeds)


def group_key(cell: Any) -> str:
    return json.dumps(cell.group_key(), default=str)


class CoverageTracker:
    """Coverage over `seeds` for every group of cells this run measures."""

    def __init__(self, store: Any, exact: ExactMeasures, seeds: tuple[int, ...]) -> None:
        self.store, self.exact, self.seeds = store, exact, tuple(seeds)
        self.pending: dict[str, Any] = {}  # group key -> a cell of that group, until its coverage is written
        with store.db:
            store.db.execute(_TABLE)

    def add(self, batch: Any) -> dict[str, tuple[float, str]]:
        """Record the components of one batch (one group); {cell id: (coverage, note)} if it completed."""
        cells, latents = batch.cells, batch.latents
        first = cells[0]
        _, components = self.exact.nearest(latents, first.prompt, first.height, first.width)
        key = group_key(first)
        with self.store.db:
            self.store.db.executemany("INSERT OR REPLACE INTO metric_components VALUES (?, ?, ?)",
                                      [(c.id, key, k) for c, k in zip(cells, components)])
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
        ids = [replace(cell, seed=s).id for s in self.seeds]
        marks = ", ".join("?" for _ in ids)
        rows = self.store.db.execute(
            f"SELECT m.cell_id, m.component, c.status FROM metric_components m LEFT JOIN cells c "
            f"ON c.cell_id = m.cell_id WHERE m.cell_id IN ({marks})", ids).fetchall()
        return {cid: comp for cid, comp, status in rows if status == "ok" or cid in current}

    def _write(self, key: str, cell: Any, found: dict[str, int], current: set[str]) -> dict[str, tuple[float, str]]:
        weights = self.exact.weights(cell.prompt, cell.height, cell.width)
        n = len(found)
        value = coverage(list(found.values()), weights)
        note = (f"coverage: over {n} seeds; exact samples score {expected_coverage(n, weights):.3f} "
                f"on average at {n} seeds")
        if n < len(self.seeds):
            note += f" (only {n} of {len(self.seeds)} seeds finished)"
        stored = {cid: ({"coverage": value}, [note]) for cid in found if cid not in current}
        if stored:
            self.store.update_metrics(stored)
        self.pending.pop(key, None)
        return {cid: (value, note) for cid in found if cid in current}
