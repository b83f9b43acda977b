"""The Ray executor: one benchmark over many GPUs and machines, into the same store as a local run.

- **Workers**: one actor per GPU (`gpus_per_worker`), or per CPU share on a CPU-only cluster, created
  once per run; each loads a model once (`BatchWorker.load`) and keeps its `ModelSession`, so each
  prompt is encoded once per actor and warm-ups follow the local rules.
- **Work**: the local runner's batches (`bench.matrix.batches`, same grouping, same batch size), two in
  flight per actor so none waits for the driver; results come back as they finish (`ray.wait`).
- **One writer**: the driver commits each result at once (`bench.executors.commit`), idempotent by cell id.
- **Faults**: actors are created with `max_restarts=0, max_task_retries=0`: Ray never replays a batch
  by itself. When an actor dies, each of its unfinished batches fails with `RayActorError`, and the
  driver resubmits it to a live actor (up to `MAX_TRIES` times, then its cells are recorded as failed)
  and starts a replacement actor if the cluster has room. The driver owns the retry because it alone
  knows which cell ids are committed; Ray's own retries (`max_task_retries`) would replay the batch on
  the same actor after a restart and a model reload, and would hide the duplicate from the count.
- **A killed driver** takes its actors with it (they are not detached); the next `bench run` resumes
  from the store, skipping every committed cell, as a local run does.
"""

from __future__ import annotations

import sys
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bench.errors import UserError
from bench.executors import ExecutorSettings, commit
from bench.executors.commit import Committer, DriverModel, failed_outcomes, outcome_of
from bench.matrix import Cell, batches

#: batches in flight per actor: one running, one queued, so an actor never waits for the driver
DEPTH = 2
#: how many times a batch may lose its worker before its cells are recorded as failed
MAX_TRIES = 3


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("the Ray executor needs Ray: pip install 'samplerbench[ray]' (on every node)") from None
    return ray


def connect(settings: ExecutorSettings) -> bool:
    """Join the cluster at `settings.address` (or start a local one); True if this call started Ray."""
    ray = _ray()
    if ray.is_initialized():
        return False
    try:
        if settings.address is None:
            ray.init(include_dashboard=False)
        else:
            ray.init(address=settings.address)
    except (ConnectionError, ValueError, RuntimeError) as exc:
        where = settings.address or "a new local Ray"
        raise UserError(f"executor: cannot start or reach {where}: {exc}".splitlines()[0]) from None
    return True


@dataclass
class Job:
    actor: Any
    cells: list[Cell] | None = None  # None: the actor is loading the model
    tries: int = 0


@dataclass
class Stats:
    duplicates: int = 0
    retried_batches: int = 0
    lost_workers: int = 0
    workers: list[dict[str, Any]] = field(default_factory=list)


class WorkerPool:
    """The run's actors: created with one worker's resources, replaced (within a limit) when one dies."""

    def __init__(self, settings: ExecutorSettings) -> None:
        ray = _ray()
        from bench.executors.ray_worker import BatchWorker

        gpus = ray.cluster_resources().get("GPU", 0)
        if gpus:
            options, room = {"num_gpus": settings.gpus_per_worker, "num_cpus": 1}, gpus / settings.gpus_per_worker
            self.threads = None
        else:
            options, room = (
                {"num_cpus": settings.cpus_per_worker},
                ray.cluster_resources().get("CPU", 0) / settings.cpus_per_worker,
            )
            self.threads = max(1, int(settings.cpus_per_worker))
        count = settings.workers or int(room)
        if count < 1:
            raise UserError(f"executor: the Ray cluster has room for no worker ({options})")
        self.remote = ray.remote(BatchWorker).options(max_restarts=0, max_task_retries=0, **options)
        self.actors = [self.remote.remote(self.threads) for _ in range(count)]
        self.replacements = count  # at most as many replacements as workers, over the whole run
        self.ready: dict[Any, dict[str, Any]] = {}  # actor -> its description, once its model is loaded
        self.names: dict[Any, str] = {}  # actor -> "host/device", kept after it dies (its results may still land)

    def worker_of(self, actor: Any) -> str | None:
        return self.names.get(actor)

    def spawn(self) -> Any | None:
        if self.replacements < 1:
            return None
        self.replacements -= 1
        actor = self.remote.remote(self.threads)
        self.actors.append(actor)
        return actor

    def lost(self, actor: Any) -> None:
        if actor in self.actors:
            self.actors.remove(actor)
        self.ready.pop(actor, None)

    def close(self) -> None:
        ray = _ray()
        for actor in self.actors:
            ray.kill(actor)
        self.actors, self.ready = [], {}


def run_ray(config: Any, cells: list[Cell], store: Any, bar: Any, argv: list[str]) -> int:
    """The `ray` executor: every model's pending cells over the cluster's workers; returns failures."""
    settings = config.executor or ExecutorSettings(kind="ray")
    started = connect(settings)
    ray = _ray()
    stats, pool, failed = Stats(), None, 0
    try:
        pool = WorkerPool(settings)
        for model_spec in config.models:
            model_cells = [c for c in cells if c.model == model_spec]
            if model_cells:
                failed += ModelRun(config, model_spec, model_cells, store, bar, argv, pool, stats, settings).run()
    finally:
        if pool is not None:
            pool.close()
        if started:
            ray.shutdown()
        if stats.workers:
            _close_account(store, settings, stats)
    return failed


def _account(store: Any, settings: ExecutorSettings, stats: Stats) -> None:
    """The executor's account in the meta, per run id; kept current as workers join, so the store of a
    killed driver still says which workers ran its cells (each cell's `worker` column names one)."""
    from bench.runner import _add_warnings

    runs = store.get_meta("executor", {}) or {}
    for run_id in sorted({w["run_id"] for w in stats.workers}):
        runs[str(run_id)] = {
            "kind": "ray",
            "address": settings.address,
            "duplicates_dropped": stats.duplicates,
            "batches_retried": stats.retried_batches,
            "workers_lost": stats.lost_workers,
            "workers": [
                {k: w[k] for k in ("worker", "host", "pid", "device", "device_name")}
                for w in stats.workers
                if w["run_id"] == run_id
            ],
        }
    store.set_meta("executor", runs)
    _add_warnings(store, commit.device_warnings(stats.workers))


def _close_account(store: Any, settings: ExecutorSettings, stats: Stats) -> None:
    """The final account, a note for the report and one stderr line."""
    _account(store, settings, stats)
    workers = {(w["host"], w["pid"]) for w in stats.workers}
    line = (
        f"ray: {len(workers)} worker(s) on {len({host for host, _ in workers})} host(s); "
        f"{stats.retried_batches} batch(es) retried after {stats.lost_workers} lost worker(s); "
        f"{stats.duplicates} duplicate result(s) dropped"
    )
    store.set_meta("notes", (store.get_meta("notes", []) or []) + [line])
    print(f"bench: {line}", file=sys.stderr)


class ModelRun:
    """One model's cells over the pool: load everywhere, stream batches, commit each as it lands.

    Workers join as their model loads (the first one to finish begins the run in the store), so a slow
    or unschedulable actor never holds the others up.
    """

    def __init__(
        self,
        config: Any,
        spec: Any,
        cells: list[Cell],
        store: Any,
        bar: Any,
        argv: list[str],
        pool: WorkerPool,
        stats: Stats,
        settings: ExecutorSettings,
    ) -> None:
        self.config, self.spec, self.store, self.bar, self.argv = config, spec, store, bar, argv
        self.settings = settings
        self.pool, self.stats, self.ray = pool, stats, _ray()
        self.queue: deque[tuple[list[Cell], int]] = deque((b, 0) for b in batches(cells, config.batch_size))
        self.inflight: dict[Any, Job] = {}
        self.failed = 0
        self.run_id: int | None = None
        self.committer: Committer | None = None

    def run(self) -> int:
        from bench.runner import _add_warnings, _record_warmups

        self.pool.ready.clear()
        for actor in self.pool.actors:
            self.inflight[actor.load.remote(self.config, self.spec)] = Job(actor)
        while self.queue or any(job.cells for job in self.inflight.values()):
            self._submit()
            if not self.inflight:
                left = sum(len(b) for b, _ in self.queue)
                raise UserError(
                    f"executor: every Ray worker died; {left} cell(s) not run. The store holds "
                    "every finished cell: run again to resume"
                )
            [ref], _ = self.ray.wait(list(self.inflight), num_returns=1)
            self._landed(ref, self.inflight.pop(ref))
        assert self.committer is not None and self.run_id is not None
        _add_warnings(self.store, self.committer.finish())
        self.stats.duplicates += self.committer.duplicates
        for ref in [actor.warmups.remote() for actor in self.pool.ready]:
            try:
                _record_warmups(self.store, self.spec, self.ray.get(ref))
            except self.ray.exceptions.RayActorError:  # died after its last batch: its results are in
                continue
        self.store.end_run(self.run_id)
        return self.failed

    def _joined(self, actor: Any, worker: dict[str, Any]) -> None:
        """A worker has the model: the first one begins the run (model identity, environment)."""
        from bench.runner import _add_warnings

        if "error" in worker:  # the model cannot load: the config's error, as in a local run
            raise UserError(worker["error"])
        if self.run_id is None:
            self.store.set_meta("model", worker["identity"])
            self.store.set_meta("models", {**self.store.get_meta("models", {}), self.spec.label: worker["identity"]})
            self.run_id = self.store.begin_run(self.argv, commit.run_environment(worker, self.settings.address))
            model = DriverModel(self.config, self.spec, worker)
            self.committer = Committer(self.config, self.store, model, self.run_id)
        _add_warnings(self.store, worker["warnings"])
        self.pool.ready[actor] = worker
        self.pool.names[actor] = worker["worker"]
        self.stats.workers.append({**worker, "run_id": self.run_id})
        _account(self.store, self.settings, self.stats)

    def _submit(self) -> None:
        """Top every ready actor up to DEPTH batches."""
        for actor in list(self.pool.ready):
            busy = sum(1 for job in self.inflight.values() if job.actor is actor)
            while busy < DEPTH and self.queue:
                cells, tries = self.queue.popleft()
                self.inflight[actor.run_batch.remote(cells, self.config.repeats)] = Job(actor, cells, tries)
                busy += 1

    def _landed(self, ref: Any, job: Job) -> None:
        ray = self.ray
        try:
            value = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            self._worker_died(job, exc)
            return
        except ray.exceptions.RayTaskError as exc:  # the batch raised outside the session's isolation
            if job.cells is None:
                raise
            self._commit(failed_outcomes(job.cells, f"{type(exc.cause).__name__}: {exc.cause}"), None)
            return
        if job.cells is None:
            self._joined(job.actor, value)
            return
        worker = self.pool.worker_of(job.actor)
        by_id = {c.id: c for c in job.cells}
        self._commit([outcome_of(by_id[r["cell_id"]], r) for r in value], worker)

    def _commit(self, outcomes: list[Any], worker: str | None) -> None:
        assert self.committer is not None
        written, failed = self.committer.commit(outcomes, worker)
        self.failed += failed
        if written:
            self.bar.update(written, failed)

    def _worker_died(self, job: Job, exc: Exception) -> None:
        """Resubmit the dead actor's batch elsewhere; replace the actor once per death."""
        if job.actor in self.pool.actors:
            self.pool.lost(job.actor)
            self.stats.lost_workers += 1
            print(f"bench: a Ray worker died ({type(exc).__name__}); its batches go to the others", file=sys.stderr)
            actor = self.pool.spawn()
            if actor is not None:
                self.inflight[actor.load.remote(self.config, self.spec)] = Job(actor)
        if job.cells is None:
            return
        if job.tries + 1 >= MAX_TRIES:
            self._commit(
                failed_outcomes(
                    job.cells, f"the Ray worker running this batch died {MAX_TRIES} times ({type(exc).__name__})"
                ),
                None,
            )
            return
        self.stats.retried_batches += 1
        self.queue.appendleft((job.cells, job.tries + 1))
