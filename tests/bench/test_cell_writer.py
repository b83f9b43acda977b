"""The cell writer (bench.cell_writer): PNGs encoded on a thread, rows committed only once their PNG is on disk."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
from spine_helpers import write_config

import bench.cell_writer
from bench.cell_writer import CellWriter
from bench.config import load_config
from bench.matrix import expand
from bench.models.analytic import AnalyticModel
from bench.pngcheck import png_intact
from bench.session import CellOutcome
from bench.store import Store

MEASURED = {"metrics": {}, "notes": []}


def _outcomes(tmp_path: Path, images: list[np.ndarray]) -> list[CellOutcome]:
    cells = expand(load_config(write_config(tmp_path / "b.yaml", seeds=list(range(1, len(images) + 1)))))
    return [CellOutcome(cell, "ok", nfe=2, image=image) for cell, image in zip(cells, images)]


def _good() -> np.ndarray:
    return np.full((8, 8, 3), 200, dtype=np.uint8)


def _statuses(store: Store) -> dict[str, tuple[str, str | None]]:
    return {r["cell_id"]: (r["status"], r["error"]) for r in store.rows()}


@pytest.mark.parametrize("threaded", [True, False])
def test_rows_are_committed_only_after_flush_and_each_ok_row_has_its_png(tmp_path, threaded):
    store = Store.open(tmp_path / "run")
    outcomes = _outcomes(tmp_path, [_good(), _good(), _good()])
    writer = CellWriter(store, AnalyticModel(), run_id=1, threaded=threaded)
    writer.submit(outcomes, [MEASURED] * 3)
    assert _statuses(store) == {}  # nothing recorded while PNGs may still be in flight
    assert writer.flush() == 0
    writer.close()
    rows = list(store.rows())
    assert [r["status"] for r in rows] == ["ok"] * 3
    assert all(png_intact(store.run_dir / r["image"]) for r in rows)
    assert not list(store.run_dir.rglob("*.tmp"))
    store.close()


def test_an_image_that_fails_to_encode_fails_its_own_cell_only(tmp_path):
    store = Store.open(tmp_path / "run")
    bad = np.zeros((8, 8, 5), dtype=np.float64)  # PIL cannot make an RGB PNG of it
    outcomes = _outcomes(tmp_path, [_good(), bad, _good()])
    writer = CellWriter(store, AnalyticModel(), run_id=1)
    writer.submit(outcomes, [MEASURED] * 3)
    assert writer.flush() == 1
    writer.close()
    found = _statuses(store)
    bad_id = outcomes[1].cell.id
    assert found[bad_id][0] == "failed" and found[bad_id][1].startswith("image not written: ")
    assert [found[o.cell.id][0] for o in (outcomes[0], outcomes[2])] == ["ok", "ok"]
    assert not store.image_path(bad_id).exists() and not list(store.run_dir.rglob("*.tmp"))
    store.close()


def test_a_full_disk_commits_the_rows_written_before_it_then_stops(tmp_path, monkeypatch):
    real = bench.cell_writer.write_png
    calls: list[Path] = []

    def fills_up(path, image, text):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, image, text)

    monkeypatch.setattr(bench.cell_writer, "write_png", fills_up)
    store = Store.open(tmp_path / "run")
    outcomes = _outcomes(tmp_path, [_good(), _good(), _good()])
    writer = CellWriter(store, AnalyticModel(), run_id=1)
    writer.submit(outcomes, [MEASURED] * 3)
    with pytest.raises(OSError) as raised:
        writer.flush()
    writer.close()
    assert raised.value.errno == errno.ENOSPC
    assert _statuses(store) == {outcomes[0].cell.id: ("ok", None)}  # only the one before the failure
    store.close()


def test_submitting_the_next_batch_commits_the_previous_one_first(tmp_path):
    store = Store.open(tmp_path / "run")
    outcomes = _outcomes(tmp_path, [_good(), _good(), _good(), _good()])
    writer = CellWriter(store, AnalyticModel(), run_id=1)
    writer.submit(outcomes[:2], [MEASURED] * 2)
    writer.submit(outcomes[2:], [MEASURED] * 2)  # at most one batch in flight
    assert set(_statuses(store)) == {o.cell.id for o in outcomes[:2]}
    writer.abandon()  # an interrupt: what is on disk is committed, the thread stops
    assert set(_statuses(store)) == {o.cell.id for o in outcomes}
    store.close()
