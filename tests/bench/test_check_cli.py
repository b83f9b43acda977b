"""`bench baseline` and `bench check` end to end on a real run (analytic model, 8x8, repeats 5).

Each test copies the run directory and changes values in the copy's real SQLite store (or in a copy of
its baseline file), then runs the commands through `bench.cli.main` and reads the exit status and files.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bench.cli import main

CONFIG = """\
name: tiny-check
model: analytic
prompts: [a red circle]
seeds: [1, 2]
samplers: [Euler, Euler a]
steps: [3, 4]
size: [8, 8]
repeats: 5
batch_size: 1
check:
  drift: 0.0001
"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("check")
    (root / "tiny.yaml").write_text(CONFIG)
    assert main(["run", str(root / "tiny.yaml"), "-o", str(root / "run"), "--no-progress", "--no-report"]) == 0
    return root / "run"


@pytest.fixture()
def pair(run_dir, tmp_path):
    """(baseline file of the real run, a copy of the run to perturb)."""
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(run_dir), "-o", str(baseline)]) == 0
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return baseline, copy


def cells(run: Path) -> list[dict]:
    with sqlite3.connect(run / "results.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT * FROM cells ORDER BY sampler, steps, seed")]


def update(run: Path, cell_id: str, **values) -> None:
    with sqlite3.connect(run / "results.sqlite") as db:
        for key, value in values.items():
            value = json.dumps(value) if isinstance(value, (list, dict)) else value
            db.execute(f"UPDATE cells SET {key} = ? WHERE cell_id = ?", (value, cell_id))


def check(run: Path, baseline: Path, *extra: str) -> int:
    return main(["check", str(run), "--baseline", str(baseline), *extra])


def test_baseline_file_is_versioned_stable_and_complete(run_dir, pair, tmp_path):
    baseline, _ = pair
    text = baseline.read_text()
    data = json.loads(text)
    assert list(data)[:2] == ["format", "version"] and data["version"] == 1
    rows = cells(run_dir)
    assert set(data["cells"]) == {r["cell_id"] for r in rows}
    for row in rows:
        cell = data["cells"][row["cell_id"]]
        assert cell["nfe"] == row["nfe"] and cell["params"]["sampler"] == row["sampler"]
        assert len(cell["sample_s_repeats"]) == 5
        assert cell["sample_s_repeats"] == pytest.approx(json.loads(row["sample_s_repeats"]), rel=1e-5)
        assert cell["fingerprint"] == json.loads(row["fingerprint"])
        assert cell["peak_mem_bytes"] == row["peak_mem_bytes"]
    assert data["environment"]["packages"]["torch"] and data["model"]["kind"] == "analytic"
    assert data["tolerances"]["drift"] == "0.0001"  # from the benchmark's check: section
    again = tmp_path / "again.json"
    assert main(["baseline", str(run_dir), "-o", str(again)]) == 0
    assert json.loads(again.read_text())["cells"] == data["cells"]  # same run, same cells
    assert '"fingerprint": [' in text  # number lists stay on one line: short git diffs


def test_identical_run_passes(pair, capsys):
    baseline, run = pair
    assert check(run, baseline) == 0
    assert "PASS (exit 0)" in capsys.readouterr().out


def test_time_beyond_noise_fails_and_within_noise_passes(pair, tmp_path, capsys):
    baseline, run = pair
    steady = [0.100, 0.101, 0.099, 0.102, 0.098]
    for row in cells(run):
        update(run, row["cell_id"], sample_s_repeats=steady)
    base2 = tmp_path / "steady.json"
    assert main(["baseline", str(run), "-o", str(base2)]) == 0
    first = cells(run)[0]
    workload = [r["cell_id"] for r in cells(run) if (r["sampler"], r["steps"]) == (first["sampler"], first["steps"])]
    assert len(workload) == 2  # its two seeds: the same work, two batches

    def slow(repeats):
        for cid in workload:
            update(run, cid, sample_s_repeats=repeats)

    slow([0.13, 0.131, 0.129, 0.132, 0.128])  # +30% in every batch
    capsys.readouterr()
    assert check(run, base2) == 1
    out = capsys.readouterr().out
    assert "REGRESSIONS (1)" in out and "+30.0%" in out and "2 cells" in out
    slow([0.08, 0.12, 0.125, 0.09, 0.13])  # +20% median, overlapping the baseline: noise
    assert check(run, base2) == 0
    assert "within noise" in capsys.readouterr().out
    slow([0.13, 0.131, 0.129, 0.132, 0.128])
    update(run, workload[1], sample_s_repeats=steady)  # only one of its batches slow: noise too
    assert check(run, base2) == 0
    slow([0.13, 0.131, 0.129, 0.132, 0.128])
    assert check(run, base2, "--time-tolerance", "off") == 0


def test_quality_drop_fails_in_the_metric_direction(pair, tmp_path, capsys):
    baseline, run = pair
    for row in cells(run):
        update(run, row["cell_id"], metrics={"ode_error": 0.01, "alignment": 0.9})
    base2 = tmp_path / "metrics.json"
    assert main(["baseline", str(run), "-o", str(base2)]) == 0
    first, second = [r["cell_id"] for r in cells(run)[:2]]
    update(run, first, metrics={"ode_error": 0.005, "alignment": 0.95})  # better on both
    assert check(run, base2) == 0
    update(run, second, metrics={"ode_error": 0.01, "alignment": 0.8})  # alignment drop
    capsys.readouterr()
    assert check(run, base2) == 1
    out = capsys.readouterr().out
    regressions = out.split("REGRESSIONS")[1].split("IMPROVEMENTS")[0]
    assert "quality:alignment" in regressions and second in regressions and first not in regressions
    assert check(run, base2, "--quality-tolerance", "alignment=0.2") == 0


def test_image_change_fails(pair, capsys):
    baseline, run = pair
    row = cells(run)[1]
    fingerprint = json.loads(row["fingerprint"])
    fingerprint[0] += 0.01
    update(run, row["cell_id"], fingerprint=fingerprint)
    assert check(run, baseline) == 1
    out = capsys.readouterr().out
    assert "drift" in out and row["cell_id"] in out
    assert check(run, baseline, "--drift-tolerance", "0.01") == 0


def test_nfe_change_fails_exactly(pair, capsys):
    baseline, run = pair
    row = cells(run)[0]
    update(run, row["cell_id"], nfe=row["nfe"] + 1)
    assert check(run, baseline) == 1
    assert "NFE CHANGES (1, 1 failing)" in capsys.readouterr().out


def test_missing_cell_is_reported_and_fails(pair, capsys):
    baseline, run = pair
    gone = cells(run)[2]["cell_id"]
    with sqlite3.connect(run / "results.sqlite") as db:
        db.execute("DELETE FROM cells WHERE cell_id = ?", (gone,))
    assert check(run, baseline) == 1
    out = capsys.readouterr().out
    assert "MISSING CELLS (1)" in out and gone in out


def test_environment_difference_softens_time_unless_strict(pair, tmp_path, capsys):
    baseline, run = pair
    data = json.loads(baseline.read_text())
    data["environment"]["packages"]["torch"] = "0.0.1"
    for cell in data["cells"].values():
        cell["sample_s_repeats"] = [t / 10 for t in cell["sample_s_repeats"]]  # the run is 10x slower
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data))
    capsys.readouterr()
    assert check(run, other) == 0
    out = capsys.readouterr().out
    assert "packages.torch: 0.0.1 ->" in out and "WARNINGS" in out
    assert check(run, other, "--strict") == 1


def test_junit_parses_and_names_the_failing_cells(pair, tmp_path):
    baseline, run = pair
    row = cells(run)[3]
    update(run, row["cell_id"], status="failed", error="RuntimeError: boom")
    junit, markdown = tmp_path / "out.xml", tmp_path / "out.md"
    assert check(run, baseline, "--junit", str(junit), "--markdown", str(markdown)) == 1
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "8" and suite.get("failures") == "1"
    failed = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert len(failed) == 1 and row["cell_id"] in failed[0].get("name")  # the cell, not its neighbours
    assert row["sampler"] in failed[0].get("name") and "boom" in failed[0].find("failure").get("message")
    text = markdown.read_text()
    assert text.startswith("### :x:") and "RuntimeError: boom" in text and row["cell_id"] in text


@pytest.mark.parametrize(
    "content, message",
    [
        ({"format": "samplerbench-baseline", "version": 99, "cells": {}}, "format version 99"),
        ({"cells": {}}, "not a samplerbench baseline"),
        ("{not json", "not valid JSON"),
    ],
)
def test_unusable_baseline_exits_2(pair, tmp_path, capsys, content, message):
    _, run = pair
    bad = tmp_path / "bad.json"
    bad.write_text(content if isinstance(content, str) else json.dumps(content))
    assert check(run, bad) == 2
    assert message in capsys.readouterr().err


def test_missing_inputs_exit_2(pair, tmp_path, capsys):
    baseline, run = pair
    assert check(tmp_path / "nowhere", baseline) == 2
    assert check(run, tmp_path / "missing.json") == 2
    assert check(run, baseline, "--time-tolerance", "fast") == 2
    err = capsys.readouterr().err
    assert "not a run directory" in err and "cannot read the baseline" in err and "--time-tolerance" in err
