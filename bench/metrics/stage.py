"""The metrics stage: quality figures computed after sampling, never inside the timed stages.

`MetricStage` is built once per (run, model): it resolves which metrics apply (the config's `metrics:`
or the model's defaults, `bench.metrics.settings.metrics_for`), loads what they need once (the CLIP
model at once, so a bad `clip:` fails before any cell runs; other models, references and mixtures on
first use) and returns per-cell values for each finished batch. Each metric's function comes from the
one metric table (`reports.metrics.METRICS`): a cell metric is `f(resources, batch)`; a group or set
metric is a tracker `f(resources)` whose `add(batch)` returns the values it completed ({cell id: (value,
note)}) and whose `finish()` completes the rest (coverage of groups where some seeds failed; FID and
KID, which need every prompt and seed of a sampler x steps).

A metric that fails on a batch is recorded on its cells (a note) and in the run's warnings; the run
goes on. The seconds each metric took are added to the store's meta "metric_seconds".
"""

from __future__ import annotations

import time
from typing import Any

from bench.errors import UserError
from bench.metrics import METRICS, function_of


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
        if "clip_score" in self.names:
            self.res.load_clip()
        self.trackers = {name: function_of(name)(self.res) for name in self.names if METRICS[name].scope != "cell"}

    def per_batch(self, outcomes: list[Any]) -> list[dict[str, Any]]:
        """For each outcome (same order): {"metrics": {name: float}, "notes": [str]}."""
        results: list[dict[str, Any]] = [{"metrics": {}, "notes": []} for _ in outcomes]
        ok = [i for i, o in enumerate(outcomes) if o.status == "ok" and o.latents is not None and o.image is not None]
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
        """Group and set metrics not completed yet (failed seeds; FID/KID); the time metrics took, in the meta."""
        for name, tracker in self.trackers.items():
            started = time.perf_counter()
            try:
                tracker.finish()
            except UserError:
                raise
            except Exception as exc:  # recorded, the run's other results stand
                self._warn(f"{name}: not measured: {type(exc).__name__}: {exc}".strip())
            self._count(name, started)
        if self.res.random_metrics:  # the report does not rank them; the warning says why
            known = list(self.store.get_meta("metric_random_weights", []) or [])
            self.store.set_meta("metric_random_weights", sorted(set(known) | self.res.random_metrics))
            self._warn(
                f"{', '.join(sorted(self.res.random_metrics))}: computed with random weights: "
                "not meaningful scores (time and memory are real)"
            )
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

        return Batch(
            [o.cell for o in outcomes],
            torch.stack([o.latents.float().cpu() for o in outcomes]),
            np.stack([np.asarray(o.image) for o in outcomes]),
        )

    def _measure(self, name: str, batch: Any) -> list[tuple[float | None, str | None]]:
        started = time.perf_counter()
        try:
            if name in self.trackers:
                done = self.trackers[name].add(batch)
                return [done.get(c.id, (None, None)) for c in batch.cells]
            return function_of(name)(self.res, batch)
        except UserError:
            raise
        except Exception as exc:  # a metric's failure is recorded on its cells; the run goes on
            message = f"{name}: not measured: {type(exc).__name__}: {exc}".strip()
            self._warn(message)
            return [(None, message)] * len(batch.cells)
        finally:
            self._count(name, started)

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def _count(self, name: str, started: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
