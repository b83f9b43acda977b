"""The cell record: an axis declared once reaches every output with no other code change.

The axis below is declared inside the test only (a "lighting" setting that does not change the analytic
model's images); it must show up in the store and `bench.load_results`, the grids' titles, the report's
table and summary, and `bench check`'s output, and cell ids of runs without it must not move.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from spine_helpers import write_config

import bench
from bench import record
from bench.cli import main
from bench.config import load_config
from bench.matrix import Cell, expand
from bench.store import Store
from bench.validate import as_list, as_str


def _parse(value, path, where):
    return as_list(value, path, where, lambda v, p: as_str(v, p, where, allow_empty=False))


LIGHTING = record.Axis(
    "lighting",
    "lighting",
    _parse,
    (record.Column("lighting", label="lighting"),),
    default="day",
    help="a test-only axis",
    id_default="day",
)


@pytest.fixture()
def lighting_axis():
    record.declare(LIGHTING)
    yield LIGHTING
    record.undeclare("lighting")


def test_the_record_derives_columns_and_the_seed_stays_last(lighting_axis):
    names = [c.name for c in record.columns()]
    assert "lighting" in names and names.index("lighting") < names.index("seed")
    assert list(record.AXES)[-1] == "seed"
    assert "lighting" in record.param_columns()
    with pytest.raises(ValueError, match="declared twice"):
        record.declare(LIGHTING)


def test_a_new_axis_keeps_every_existing_id(tmp_path, lighting_axis):
    with_axis = [c.id for c in expand(load_config(write_config(tmp_path / "a.yaml")))]
    record.undeclare("lighting")
    try:
        without = [c.id for c in expand(load_config(write_config(tmp_path / "b.yaml")))]
    finally:
        record.declare(LIGHTING)
    assert with_axis == without  # the default value is not part of the id
    night = [c.id for c in expand(load_config(write_config(tmp_path / "c.yaml", lighting="night")))]
    assert not set(night) & set(without)


def test_writing_an_undeclared_field_is_an_error(tmp_path):
    store = Store.open(tmp_path / "run")
    try:
        with pytest.raises(KeyError, match="steppz"):
            store.write_cell({"cell_id": "x", "status": "ok", "steppz": 3})
    finally:
        store.close()


def test_a_cell_needs_exactly_the_declared_axes():
    with pytest.raises(TypeError, match="missing"):
        Cell.of(prompt="a red circle")


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_a_test_declared_axis_reaches_store_grids_report_and_check(tmp_path, lighting_axis, capsys):
    base = write_config(tmp_path / "a.yaml", lighting=["day", "dusk"], seeds=[1, 2], samplers=["Euler"])
    run_dir = tmp_path / "run"
    assert main(["run", str(base), "-o", str(run_dir), "--no-progress"]) == 0
    frame = bench.load_results(run_dir)
    assert set(frame["lighting"]) == {"day", "dusk"}  # the store and load_results

    from PIL import Image

    assert main(["grid", str(run_dir), "--rows", "lighting", "--cols", "seed", "-o", str(tmp_path / "g.png")]) == 0
    assert "rows: lighting = day | dusk" in Image.open(tmp_path / "g.png").text["parameters"]  # a grid axis
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert ">lighting<" in html and "dusk" in html  # a column of the report's tables, and a summary fact
    assert '{"key":"lighting","label":"lighting","values":["lighting day","lighting dusk"]}' in html  # explorer axis

    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(run_dir), "-o", str(baseline)]) == 0
    more = write_config(tmp_path / "b.yaml", lighting=["day", "dusk", "night"], seeds=[1, 2], samplers=["Euler"])
    assert main(["run", str(more), "-o", str(run_dir), "--no-progress", "--no-report"]) == 0
    capsys.readouterr()
    assert main(["check", str(run_dir), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert "lighting night" in out  # the new cells are named by their axis value


def test_two_models_are_told_apart_everywhere(tmp_path, capsys):
    path = write_config(
        tmp_path / "m.yaml",
        samplers=["Euler"],
        seeds=[1],
        steps=[2],
        model=["analytic", {"kind": "analytic", "components": 8, "std": 0.2}],
    )
    run_dir = tmp_path / "run"
    assert main(["run", str(path), "-o", str(run_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    labels = ["analytic", "analytic (components=8, std=0.2)"]
    assert all(label in out for label in labels)  # the terminal table has a line per model
    frame = bench.load_results(run_dir)
    assert set(frame["model"]) == set(labels)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "for analytic (components=8, std=0.2)" in html  # one recommendation per model
    assert '"key":"model","label":"model","values":["analytic","analytic (components=8, std=0.2)"]' in html


def test_two_models_with_one_label_are_refused(tmp_path):
    path = write_config(
        tmp_path / "m.yaml", model=[{"kind": "analytic", "label": "x"}, {"kind": "analytic", "std": 0.3, "label": "x"}]
    )
    with pytest.raises(bench.errors.ConfigError, match="two models are labelled 'x'"):
        load_config(path)


def test_every_config_error_is_reported_at_once(tmp_path):
    path = write_config(tmp_path / "bad.yaml", steps=[0], samplerz=["Euler"], cfg_scale="high")
    with pytest.raises(bench.errors.ConfigError) as caught:
        load_config(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert any("samplerz" in line for line in lines) and any("steps" in line for line in lines)
    assert all(line.startswith(str(path)) for line in lines)


def test_report_axes_are_plain_data():
    plain = record.for_reports()
    assert {a["column"] for a in plain["axes"]} >= {"model", "sampler", "steps", "size", "cfg_scale"}
    assert all(isinstance(a["label"], str) and a["role"] in ("choice", "task", "replicate") for a in plain["axes"])
    assert "nfe" in plain["columns"] and Path(__file__).exists()
