"""The metrics stage: quality figures computed after sampling, never inside the timed stages.

`MetricStage` is built once per (run, model): it resolves which metrics apply (the config's `metrics:`
or the model's defaults), loads what they need once (a CLIP model, reference solutions), and returns
per-cell values for each finished batch. Group-level metrics (over seeds) are computed in `finish`.
"""
from __future__ import annotations

from typing import Any


class MetricStage:
    def __init__(self, config: Any, model: Any, store: Any) -> None:
        self.config, self.model, self.store = config, model, store
        self.warnings: list[str] = []

    def per_batch(self, outcomes: list[Any]) -> list[dict[str, Any]]:
        """For each outcome (same order): {"metrics": {name: float}, "notes": [str]}."""
        return [{"metrics": {}, "notes": []} for _ in outcomes]

    def finish(self) -> None:
        """Group-level metrics over all seeds of a cell group, written back to the store."""
