"""Finished cells to disk: PNG encoding on a writer thread, the batch's rows committed once its PNGs are in place.

The runner hands each finished batch to `CellWriter.submit` and goes on sampling the next batch while one
writer thread encodes the PNGs (PIL's zlib releases the GIL, so this overlaps the sampler's work) and
renames each into place (bench.pnginfo.write_png: temp file + os.replace). `flush` waits for those
PNGs, then commits the batch's rows in one transaction: a cell is recorded 'ok' only after its PNG is on
disk, so a run killed at any moment (kill -9 included) never has a finished row without its image, and a
resume reruns exactly the cells without a row (bench.store). At most one batch is in flight (the runner
flushes batch N before it submits N+1): memory is bounded by one batch of images.

An image that cannot be encoded fails its own cell (the error is recorded, the run goes on); an OSError
(a full disk, a folder made read-only) commits the rows whose PNGs were written before it, then stops
the run with that error, as a write on the runner's own thread did.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench.infotext import png_text
from bench.pnginfo import write_png


@dataclass
class _Pending:
    outcome: Any
    measured: dict
    worker: str | None
    image: Future | None  # resolves to the PNG's path relative to the run directory


class CellWriter:
    """Writes cells for one model's run: `submit` a batch, `flush` before the next `submit` and at the end."""

    def __init__(self, store: Any, model: Any, run_id: int, threaded: bool = True) -> None:
        self.store, self.model, self.run_id = store, model, run_id
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="png-writer") if threaded else None
        self._pending: list[_Pending] = []

    def submit(self, outcomes: list[Any], measured: list[dict], worker: str | None = None) -> None:
        """Start writing a batch's PNGs (in order); its rows wait for `flush`."""
        self.flush()  # never more than one batch in flight
        for outcome, values in zip(outcomes, measured):
            image = None if outcome.image is None else self._start(self._png_job(outcome))
            self._pending.append(_Pending(outcome, values, worker, image))

    def flush(self) -> int:
        """Wait for the pending PNGs and commit their rows; returns the cells whose image failed to encode."""
        pending, self._pending = self._pending, []
        rows, failed, stop = [], 0, None
        for item in pending:
            try:
                image_rel = item.image.result() if item.image is not None else None
            except OSError as exc:  # a full disk or an unwritable folder stops the run (bench.commands.run)
                stop = stop or exc
                continue
            except Exception as exc:  # this image alone: its cell fails, the run goes on
                failed += 1
                rows.append(self._row(item, None, f"image not written: {type(exc).__name__}: {exc}".strip()))
                continue
            if stop is None:
                rows.append(self._row(item, image_rel))
        if rows:
            self.store.write_cells(rows)
        if stop is not None:
            raise stop
        return failed

    def close(self) -> None:
        """Wait for the thread to finish what it holds (no temp file written after the run returns)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def abandon(self) -> None:
        """On an interrupt or error: commit what was written, swallow a second failure, stop the thread."""
        try:
            self.flush()
        except Exception:  # the first error is the one the user sees
            pass
        finally:
            self.close()

    # -- internals -------------------------------------------------------------------------------------
    def _png_job(self, outcome: Any) -> Callable[[], str]:
        store, model = self.store, self.model

        def job() -> str:
            path = store.image_path(outcome.cell.id)
            write_png(path, outcome.image, png_text(outcome.cell, model))
            return str(path.relative_to(store.run_dir))

        return job

    def _start(self, job: Callable[[], str]) -> Future:
        if self._pool is not None:
            return self._pool.submit(job)
        done: Future = Future()
        try:
            done.set_result(job())
        except Exception as exc:
            done.set_exception(exc)
        return done

    def _row(self, item: _Pending, image_rel: str | None, error: str | None = None) -> dict:
        from bench.runner import cell_row

        return cell_row(item.outcome, self.run_id, self.model, item.measured, image_rel, item.worker, error)
