"""A run refused for its model changes nothing on disk: the model loads before the store is opened."""

from __future__ import annotations

import yaml
from hostile_helpers import TINY, assert_refused, cli, snapshot

from bench.cli import main


def _with_model(path, model) -> None:
    data = yaml.safe_load(TINY)
    data["model"] = model
    path.write_text(yaml.safe_dump(data))


def test_a_missing_model_pointed_at_an_existing_run_changes_nothing(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(TINY)
    run = tmp_path / "run"
    assert main(["run", str(good), "-o", str(run), "--no-progress", "--no-report"]) == 0
    bad = tmp_path / "bad.yaml"
    _with_model(bad, {"source": str(tmp_path / "no-such-model.safetensors")})
    text = bad.read_text().replace("name: tiny", "name: renamed")
    bad.write_text(text + "check: {drift: 0.5}\n")
    before = snapshot(tmp_path)
    result = cli(capsys, "run", bad, "-o", run, "--no-progress", "--no-report")
    assert result.code == 2 and "Traceback" not in result.err
    assert "error:" in result.lines[-1] and "no-such-model" in result.lines[-1]
    assert all(line.startswith("warning:") for line in result.lines[:-1])  # the old cells are not in this file
    assert snapshot(tmp_path) == before  # the run's name, gate and store are as they were


def test_a_missing_model_leaves_no_new_folder(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    _with_model(bad, {"source": str(tmp_path / "no-such-model.safetensors")})
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "run", bad, "-o", tmp_path / "new", "--no-progress"), "no-such-model")
    assert snapshot(tmp_path) == before
