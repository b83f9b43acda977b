"""A run made before schema version 2 (tests/fixtures/store_v1, written by that release) opens, resumes,
reports and checks in today's code: same cell ids, columns filled in, references reused."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import bench
from bench.config import load_config
from bench.matrix import expand
from bench.runner import run
from bench.store import SCHEMA_VERSION, Store

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture()
def old_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    shutil.copytree(FIXTURE / "store_v1", run_dir)
    return run_dir


def _count(run_dir: Path, table: str) -> int:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_the_old_store_is_version_1_with_every_cell_done() -> None:
    with sqlite3.connect(FIXTURE / "store_v1" / "results.sqlite") as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"
        columns = {r[1] for r in db.execute("PRAGMA table_info(cells)")}
    assert "size" not in columns and "sampler_options" not in columns


def test_ids_of_the_old_run_are_today_s_ids(old_run: Path) -> None:
    config = load_config(FIXTURE / "store_v1.yaml", output=old_run)
    stored = set(bench.load_results(old_run)["cell_id"])
    assert stored == {cell.id for cell in expand(config)}


def test_opening_migrates_columns_and_reference_keys(old_run: Path) -> None:
    references = _count(old_run, "metric_references")
    store = Store.open(old_run)
    try:
        assert store.get_meta("schema_version") == SCHEMA_VERSION
        rows = list(store.rows())
        assert {r["size"] for r in rows} == {"8x8"}
        eta = [r["sampler_options"] for r in rows if r["sampler_id"].startswith("k:euler_ancestral")]
        assert eta and all(o == {"eta": 0.5} for o in eta)
        config = load_config(FIXTURE / "store_v1.yaml", output=old_run)
        from bench.metrics.references import group_identity

        keys = {r[0] for r in store.db.execute("SELECT key FROM metric_references")}
        method = next(iter(keys)).split('"method": ')[1].rstrip("}").strip('"')
        assert {group_identity(c, method) for c in expand(config)} == keys
    finally:
        store.close()
    assert _count(old_run, "metric_references") == references


def test_resume_runs_nothing_and_keeps_results(old_run: Path) -> None:
    before = bench.load_results(old_run).set_index("cell_id")
    summary = run(load_config(FIXTURE / "store_v1.yaml", output=old_run), progress=False)
    assert (summary.total, summary.ran, summary.skipped) == (16, 0, 16)
    after = bench.load_results(old_run).set_index("cell_id")
    for column in ("sample_s", "nfe", "ode_error", "coverage", "fingerprint", "image"):
        assert after[column].tolist() == before.loc[after.index, column].tolist(), column


def test_extending_the_old_run_reuses_its_references(old_run: Path, tmp_path: Path) -> None:
    text = (FIXTURE / "store_v1.yaml").read_text().replace("steps: [2, 4]", "steps: [2, 4, 6]")
    config_path = tmp_path / "more.yaml"
    config_path.write_text(text)
    references = _count(old_run, "metric_references")
    summary = run(load_config(config_path, output=old_run), progress=False)
    assert (summary.ran, summary.failed) == (8, 0)
    assert _count(old_run, "metric_references") == references  # same groups: no new ODE solve
    frame = bench.load_results(old_run)
    assert frame.loc[frame["steps"] == 6, "ode_error"].notna().all()


def test_report_and_check_read_the_old_run(old_run: Path, tmp_path: Path) -> None:
    from bench.cli import main

    assert main(["report", str(old_run)]) == 0
    assert (old_run / "report.html").is_file()
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(old_run), "-o", str(baseline)]) == 0
    assert main(["check", str(old_run), "--baseline", str(baseline)]) == 0
