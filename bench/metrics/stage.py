"""The metrics stage: quality figures computed after sampling, never inside the timed stages.

`MetricStage` is built once per (run, model): it resolves which metrics apply (the config's `metrics:`
or the model's defaults, `bench.metrics.settings.metrics_for`), loads what they need once (the CLIP
model at once, so a bad `clip:` fails before any cell runs; references and mixtures on first use) and
returns per-cell values for each finished batch. Coverage, a group metric, is completed when the last
seed of its group is measured, and in `finish` for groups where some seeds failed.

A metric that fails on a batch is recorded on its cells (a note) and in the run's warnings; the run
goes on. The seconds each metric took are added to the store's meta "metric_seconds".
"""
from __future__ import annotations

import time
from typing import Any

from bench.errors import UserError


class MetricStage:
    def __init__(self, config: Any, model: Any, store: Any) -> None:
        from bench.metrics.calculators import Resources
        from bench.metrics.settings import metrics_for

        self.config, self.model, self.store = config, model, store
        self.kind = str(model.identity().get("kind", "unknown"))
        self.names, skipped = metrics_for(self.kind, config)
        self.warnings: list[str] = list(skipped)
        self.seconds: dict[str, float] = {}
        self.res = Resources(config, model, self.kind, store, self.warnings)
        self.coverage = None
        if "clip_score" in self.names:
            self.res.load_clip()
        if "coverage" in self.names:
            from bench.metrics.coverage import CoverageTracker

            self.coverage = CoverageTracker(store, self.res.exact, config.seeds)

    def per_batch(self, outcomes: list[Any]) -> list[dict[str, Any]]:
        """For each outcome (same order): {"metrics": {name: float}, "notes": [str]}."""
        results: list[dict[str, Any]] = [{"metrics": {}, "notes": []} for _ in outcomes]
        ok = [i for i, o in enumerate(outcomes)
              if o.status == "ok" and o.latents is not None and o.image is not None]
        if not ok or not self.names:
            return results
        batch = self._batch([outcomes[i] for i in ok])
        for name in self.names:
            values = self._measure(name, batch)
            for i, (value, note) in zip(ok, values):
                if value is not None:
                    results[i]["metrics"][name] = value
                if note:
                    results[i]["notes"].append(note)
        return results

    def finish(self) -> None:
        """Coverage of groups left incomplete by failed seeds; the time metrics took, in the meta."""
        if self.coverage is not None:
            started = time.perf_counter()
            self.coverage.finish()
            self._count("coverage", started)
        if self.seconds:
            total = dict(self.store.get_meta("metric_seconds", {}) or {})
            for name, seconds in self.seconds.items():
                total[name] = round(total.get(name, 0.0) + seconds, 4)
            self.store.set_meta("metric_seconds", total)

    # -- internals -------------------------------------------------------------------------------------

    @staticmethod
    def _batch(outcomes: list[Any]):
        import numpy as np
        import torch

        from bench.metrics.calculators import Batch

        return Batch([o.cell for o in outcomes], torch.stack([o.latents.float().cpu() for o in outcomes]),
                     np.stack([np.asarray(o.image) for o in outcomes]))

    def _measure(self, name: str, batch: Any) -> list[tuple[float | None, str | None]]:
        from bench.metrics.calculators import CALCULATORS

        started = time.perf_counter()
        try:
            if name == "coverage":
                done = self.coverage.add(batch.cells, batch.latents)
                return [done.get(c.id, (None, None)) for c in batch.cells]
            return CALCULATORS[name](self.res, batch)
        except UserError:
            raise
        except Exception as exc:  # a metric's failure is recorded on its cells; the run goes on
            message = f"{name}: not measured: {type(exc).__name__}: {exc}".strip()
            if message not in self.warnings:
                self.warnings.append(message)
            return [(None, message)] * len(batch.cells)
        finally:
            self._count(name, started)

    def _count(self, name: str, started: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
