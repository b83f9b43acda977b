"""The runner: expand the matrix, skip finished cells, run the rest model by model, write each at once."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TextIO

from bench import executors
from bench.cell_writer import CellWriter
from bench.config import Config
from bench.matrix import Cell, batches, expand
from bench.pngcheck import broken_images
from bench.progress import Progress
from bench.store import Store, export, utc_now


@dataclass(frozen=True)
class RunSummary:
    run_dir: Path
    total: int
    skipped: int
    ran: int
    failed: int


def pending_cells(cells: list[Cell], store: Store, force: bool) -> list[Cell]:
    """Resume: cells already finished (status ok) are skipped unless forced."""
    done = set() if force else store.done_ids()
    done -= broken_images(done, store.image_path)  # a missing or cut-short PNG: its cell runs again
    return [c for c in cells if c.id not in done]


def run(
    config: Config,
    force: bool = False,
    argv: list[str] | None = None,
    stream: TextIO | None = None,
    progress: bool = True,
) -> RunSummary:
    """Run every pending cell of `config` into its run directory.

    On the local executor the first model with pending cells loads before the store is opened, so a
    run refused for its model (a missing file, a size it cannot make) changes nothing on disk.
    """
    cells = expand(config)
    kind = (config.executor or executors.ExecutorSettings()).kind
    loaded = _load_first(config, cells, force) if kind == "local" else {}
    store = Store.open(config.output)
    try:
        todo = pending_cells(cells, store, force)
        pending = {c.id for c in todo}
        store.refresh_params({c.id: c.params() for c in cells if c.id not in pending})
        store.set_meta("name", config.name)
        store.set_meta("check", config.check)  # the benchmark's own gate, read by `bench check`
        store.set_meta("report", config.report)  # the report's objective and constraints (reports.objective)
        store.set_meta("created", store.get_meta("created") or utc_now())
        bar = Progress(len(todo), stream or sys.stderr, enabled=progress)
        execute = executors.resolve(kind)
        failed = execute(config, todo, store, bar, argv or [], **({"loaded": loaded} if loaded else {}))
        return RunSummary(config.output, len(cells), len(cells) - len(todo), len(todo), failed)
    finally:
        try:
            export(store)
        finally:
            store.close()  # also when the export fails (a full disk): no connection left open


def _load_first(config: Config, cells: list[Cell], force: bool) -> dict:
    """{model spec: loaded model} of the first model that has cells to run (read-only look at the store)."""
    from bench.lock import writer_active
    from bench.store import Store as _Store

    done: set[str] = set()
    if not force and (config.output / "results.sqlite").is_file():
        reader = _Store.open(config.output, readonly=True, lock_is_ours=writer_active(config.output))
        try:
            done = reader.done_ids()
        finally:
            reader.close()
    for model_spec in config.models:
        if any(c.model == model_spec and c.id not in done for c in cells):
            return {model_spec: load_for(config, model_spec)}
    return {}


def run_local(
    config: Config, cells: list[Cell], store: Store, bar: Progress, argv: list[str], loaded: dict | None = None
) -> int:
    """The local executor: each model loaded once in this process (or `loaded` already), batches in order."""
    failed = 0
    for model_spec in config.models:
        model_cells = [c for c in cells if c.model == model_spec]
        if model_cells:
            model = (loaded or {}).pop(model_spec, None)
            failed += run_model(config, model_spec, model_cells, store, bar, argv, model)
    return failed


def run_model(
    config: Config, model_spec, cells: list[Cell], store: Store, bar: Progress, argv: list[str], model=None
) -> int:
    """Load one model once (unless given), run its cells batch by batch, write each cell at once; returns failures."""
    from bench import environment
    from bench.metrics.stage import MetricStage
    from bench.session import ModelSession

    model = model if model is not None else load_for(config, model_spec)
    with torch_threads(getattr(model, "torch_threads", None)):
        store.set_meta("model", model.identity())
        store.set_meta("models", {**store.get_meta("models", {}), model_spec.label: model.identity()})
        env = {**environment.collect(model.device, Path.cwd()), **_model_environment(model)}
        run_id = store.begin_run(argv, env)
        _add_warnings(store, model_warnings(model))
        session, metrics = ModelSession(model), MetricStage(config, model, store)
        writer = CellWriter(store, model, run_id)  # PNGs encode while the next batch samples
        failed = 0
        try:
            for batch in batches(cells, config.batch_size):
                outcomes = session.run_batch(batch, config.repeats)
                failed += writer.flush()  # the previous batch: its PNGs on disk, then its rows
                writer.submit(outcomes, metrics.per_batch(outcomes))
                batch_failed = sum(o.status != "ok" for o in outcomes)
                failed += batch_failed
                bar.update(len(batch), batch_failed, f"{batch[0].sampler.written} · {batch[0].steps} steps")
            failed += writer.flush()
        except BaseException:
            writer.abandon()  # commit what is on disk (Ctrl-C keeps finished work), then stop the thread
            raise
        writer.close()
        metrics.finish()
        _record_warmups(store, model_spec, session.warmups)
        _add_warnings(store, metrics.warnings)
        store.end_run(run_id)
    return failed


def load_for(config: Config, model_spec):
    """Load a model and check the config's sizes against it; a problem is the config's, located there."""
    from bench.errors import UserError
    from bench.models import load_model

    where = f"{config.source}: " if config.source else ""
    try:
        model = load_model(model_spec)
        for width, height in config.sizes:
            model.latent_shape(height, width)
    except UserError as exc:
        raise UserError(f"{where}{exc}") from None
    return model


@contextmanager
def torch_threads(wanted: int | None) -> Iterator[None]:
    """Run with the model's preferred intra-op thread count (if it has one), then restore the previous."""
    import torch

    previous = torch.get_num_threads()
    if wanted:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _model_environment(model) -> dict:
    describe = getattr(model, "environment", None)
    return describe() if callable(describe) else {}


def model_warnings(model) -> list[str]:
    """What a reader of the results must know about the model and device they came from."""
    out = []
    if getattr(model, "random_weights", False):
        out.append("random weights: images and CLIP scores are not meaningful; time and memory are real")
    if str(model.device).startswith("cpu"):
        out.append("timed on the CPU: times and peak memory (process RSS) do not predict GPU figures")
    return out


def _record_warmups(store: Store, model_spec, warmups: dict) -> None:
    """Untimed first passes (imports, kernel choice, torch.compile) are kept apart, per sampler and shape."""
    known = store.get_meta("warmups", [])
    known += [
        {"model": model_spec.label, "sampler_id": sid, "shape": list(shape), "seconds": round(sec, 4)}
        for (sid, shape), sec in warmups.items()
    ]
    store.set_meta("warmups", known)


def _add_warnings(store: Store, warnings: list[str]) -> None:
    known = store.get_meta("warnings", [])
    store.set_meta("warnings", known + [w for w in warnings if w not in known])


def _write(store: Store, outcome, run_id: int, model, measured: dict, worker: str | None = None) -> None:
    """Write one cell now, PNG then row, on this thread (the Ray executor's committer)."""
    from bench.cell_writer import CellWriter

    writer = CellWriter(store, model, run_id, threaded=False)
    writer.submit([outcome], [measured], worker)
    writer.flush()


def cell_row(
    outcome, run_id: int, model, measured: dict, image_rel: str | None, worker: str | None, error: str | None = None
) -> dict:
    """The store row of a finished cell (bench.record's columns); `error` fails an otherwise ok cell."""
    cell = outcome.cell
    return {
        "cell_id": cell.id,
        "status": "failed" if error else outcome.status,
        "error": error or outcome.error,
        **cell.params(),
        "batch_size": outcome.batch_size,
        "nfe": outcome.nfe,
        **outcome.times,
        "sample_s_repeats": outcome.sample_repeats or None,
        **outcome.peak_mem,
        "image": image_rel,
        "fingerprint": fingerprint(outcome.latents),
        "random_weights": bool(getattr(model, "random_weights", False)),
        "metrics": measured["metrics"],
        "notes": measured["notes"],
        "run_id": run_id,
        "finished_at": utc_now(),
        "worker": worker,
    }


def fingerprint(latents) -> list[float] | None:
    """A 4x4-per-channel average of the clean latents: enough to measure image drift between runs."""
    if latents is None or not bool(latents.isfinite().all()):
        return None
    channels, height, width = latents.shape
    x = latents.float()
    if height % 4 == 0 and width % 4 == 0:  # plain block means: cheaper than adaptive pooling
        pooled = x.reshape(channels, 4, height // 4, 4, width // 4).mean(dim=(2, 4))
    else:
        import torch.nn.functional as F

        pooled = F.adaptive_avg_pool2d(x[None], 4)[0]
    return [round(v, 6) for v in pooled.flatten().tolist()]
