"""Broken or hostile files the project reads (issue 16): stores, baselines, PNGs, checkpoints, model
folders. Each is refused in one line (exit 2, no traceback, nothing changed) or repaired by design."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hostile_helpers import assert_refused, cli, copy_run, snapshot, write

import bench
from bench.errors import UserError

GARBAGE = {
    "truncated": lambda data: data[: len(data) // 3],
    "garbage": lambda data: b"this is not a database" * 100,
    "zeroed-header": lambda data: bytes(100) + data[100:],
    "empty": lambda data: b"",
}


def _damage(run, how):
    db = run / "results.sqlite"
    db.write_bytes(GARBAGE[how](db.read_bytes()))


@pytest.mark.parametrize("how", list(GARBAGE))
@pytest.mark.parametrize("command", ["report", "check", "baseline", "run"])
def test_a_damaged_store_is_one_line_for_every_command(tiny_run, tmp_path, capsys, command, how):
    config, good = tiny_run
    run = copy_run(good, tmp_path / "run")
    _damage(run, how)
    baseline = tmp_path / "baseline.json"
    if command == "check":
        assert cli(capsys, "baseline", good, "-o", baseline).code == 0
    before = snapshot(tmp_path)
    argv = {
        "report": ["report", run, "-o", tmp_path / "rep"],
        "check": ["check", run, "--baseline", baseline],
        "baseline": ["baseline", run, "-o", tmp_path / "b.json"],
        "run": ["run", config, "-o", run, "--no-progress", "--no-report"],
    }[command]
    assert_refused(cli(capsys, *argv), "results.sqlite")
    assert snapshot(tmp_path) == before


def test_load_results_of_a_damaged_store_raises_a_user_error(tiny_run, tmp_path):
    run = copy_run(tiny_run[1], tmp_path / "run")
    _damage(run, "garbage")
    with pytest.raises(UserError, match="results.sqlite"):
        bench.load_results(run)


def test_a_store_of_another_program_is_one_line(tmp_path, capsys):
    (tmp_path / "run").mkdir()
    with sqlite3.connect(tmp_path / "run" / "results.sqlite") as db:
        db.execute("CREATE TABLE cells (x)")
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "report", tmp_path / "run", "-o", tmp_path / "rep"), "another samplerbench")
    assert_refused(cli(capsys, "baseline", tmp_path / "run", "-o", tmp_path / "b.json"), "another samplerbench")
    assert snapshot(tmp_path) == before


@pytest.mark.slow  # builds reports (matplotlib): several seconds
def test_readers_write_nothing_in_the_run_folder(tiny_run, tmp_path, capsys):
    """check, baseline, load_results and report -o elsewhere: not even SQLite's -wal/-shm side files."""
    run = copy_run(tiny_run[1], tmp_path / "run")
    before = snapshot(run)
    assert cli(capsys, "baseline", run, "-o", tmp_path / "b.json").code == 0
    assert cli(capsys, "check", run, "--baseline", tmp_path / "b.json").code == 0
    assert len(bench.load_results(run)) == 4
    assert cli(capsys, "report", run, "-o", tmp_path / "rep").code == 0
    assert snapshot(run) == before
    html = (tmp_path / "rep" / "report.html").read_text()
    assert "../run/images/" in html  # the report links the run's own images


def test_a_reader_sees_cells_still_in_the_write_ahead_log(tiny_run, tmp_path):
    """After a kill -9 the last cells may live only in results.sqlite-wal: readers must see them."""
    run = copy_run(tiny_run[1], tmp_path / "run")
    writer = sqlite3.connect(run / "results.sqlite")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    with writer:
        writer.execute("UPDATE cells SET nfe = 99")
    assert (run / "results.sqlite-wal").stat().st_size > 0
    assert set(bench.load_results(run)["nfe"]) == {99}
    writer.close()


# --- baselines ---------------------------------------------------------------------------------------
def _edit_baseline(good_run, tmp_path, capsys, edit):
    path = tmp_path / "baseline.json"
    assert cli(capsys, "baseline", good_run, "-o", path).code == 0
    data = json.loads(path.read_text())
    first = next(iter(data["cells"]))
    edit(data, data["cells"][first])
    path.write_text(json.dumps(data))
    return path, first


EDITS = {
    "garbage-metric": (lambda d, c: c["metrics"].update({k: "garbage" for k in c["metrics"]}), "metrics."),
    "string-nfe": (lambda d, c: c.update(nfe="many"), ".nfe"),
    "float-nfe": (lambda d, c: c.update(nfe=2.5), ".nfe"),
    "bool-memory": (lambda d, c: c.update(peak_mem_bytes=True), ".peak_mem_bytes"),
    "repeats-string": (lambda d, c: c.update(sample_s_repeats="fast"), ".sample_s_repeats"),
    "repeats-garbage": (lambda d, c: c.update(sample_s_repeats=[0.1, "x"]), ".sample_s_repeats[1]"),
    "fingerprint-dict": (lambda d, c: c.update(fingerprint={"a": 1}), ".fingerprint"),
    "params-list": (lambda d, c: c.update(params=[1, 2]), ".params"),
    "metrics-list": (lambda d, c: c.update(metrics=[1]), ".metrics"),
    "error-number": (lambda d, c: c.update(error=3), ".error"),
    "run-string": (lambda d, c: d.update(run="yesterday"), "'run'"),
    "cells-list": (lambda d, c: d.update(cells=[1]), "cells"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_a_baseline_with_wrong_types_is_refused_naming_cell_and_key(tiny_run, tmp_path, capsys, name):
    edit, key = EDITS[name]
    baseline, cell = _edit_baseline(tiny_run[1], tmp_path, capsys, edit)
    run = copy_run(tiny_run[1], tmp_path / "run")
    before = snapshot(tmp_path)
    line = assert_refused(cli(capsys, "check", run, "--baseline", baseline), key)
    if key.startswith("."):
        assert f"cells.{cell}{key}" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("data", [b"\xff\xfe{}", b"[" * 100000 + b"]" * 100000, b""], ids=["latin", "deep", "empty"])
def test_an_unreadable_baseline_is_one_line(tiny_run, tmp_path, capsys, data):
    baseline = write(tmp_path / "b.json", data)
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "check", tiny_run[1], "--baseline", baseline), "b.json")
    assert snapshot(tmp_path) == before


# --- PNGs --------------------------------------------------------------------------------------------
def test_a_truncated_png_reruns_its_cell_on_resume(tiny_run, tmp_path, capsys):
    from bench.pngcheck import png_intact

    config, good = tiny_run
    run = copy_run(good, tmp_path / "run")
    victim = min((run / "images").glob("*.png"))
    victim.write_bytes(victim.read_bytes()[:60])
    assert not png_intact(victim)
    result = cli(capsys, "run", config, "-o", run, "--no-progress", "--no-report")
    assert result.code == 0 and "4 cells, 3 already done, 1 run" in result.out
    assert png_intact(victim)


@pytest.mark.slow  # builds reports (matplotlib): several seconds
def test_report_survives_a_broken_png_with_a_placeholder(tiny_run, tmp_path, capsys):
    run = copy_run(tiny_run[1], tmp_path / "run")
    for i, png in enumerate(sorted((run / "images").glob("*.png"))[:2]):
        png.write_bytes(png.read_bytes()[:70] if i == 0 else b"garbage")
    result = cli(capsys, "report", run)
    assert result.code == 0 and "Traceback" not in result.err
    assert "2 image(s) of finished cells are missing or broken" in result.err
    assert cli(capsys, "report", tiny_run[1], "-o", tmp_path / "intact").code == 0

    def pictured(page) -> int:  # explorer cells that carry a picture (the others show a placeholder)
        html = page.read_text(encoding="utf-8")
        payload = html.split('<script type="application/json" id="explorer-data">')[1].split("</script>")[0]
        return sum("src" in cell for cell in json.loads(payload)["cells"])

    assert pictured(run / "report.html") == pictured(tmp_path / "intact" / "report.html") - 2


def test_png_check_accepts_whole_files_only(tmp_path, tiny_run):
    from bench.pngcheck import png_intact

    whole = min((tiny_run[1] / "images").glob("*.png"))
    data = whole.read_bytes()
    assert png_intact(whole)
    for name, bad in {"short": data[:-1], "empty": b"", "not-png": b"x" * 100, "tail-only": data[-12:]}.items():
        assert not png_intact(write(tmp_path / f"{name}.png", bad)), name
    assert not png_intact(tmp_path / "missing.png")


# --- model files -------------------------------------------------------------------------------------
@pytest.mark.slow
def test_a_pickle_renamed_safetensors_is_one_line(tmp_path, capsys):
    import pickle

    checkpoint = write(tmp_path / "model.safetensors", pickle.dumps({"state_dict": {"a": 1}}))
    config = write(
        tmp_path / "b.yaml",
        f"prompts: [a]\nseeds: [1]\nsamplers: [Euler]\nsteps: [2]\nmodel: {{source: {checkpoint}}}\n",
    )
    # (the runner still opens the store before it loads the model: the lead's runner rework moves that)
    assert_refused(cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress"), "not a safetensors file")


@pytest.mark.slow
def test_a_model_folder_naming_a_foreign_module_is_refused_unimported(tmp_path, capsys):
    folder = tmp_path / "pipe"
    write(
        folder / "model_index.json",
        json.dumps(
            {
                "_class_name": "StableDiffusionPipeline",
                "_diffusers_version": "0.30.0",
                "unet": ["hostile_module_never_imported", "Boom"],
                "vae": ["diffusers", "AutoencoderKL"],
                "text_encoder": ["transformers", "CLIPTextModel"],
                "tokenizer": ["transformers", "CLIPTokenizer"],
                "scheduler": ["diffusers", "DDIMScheduler"],
            }
        ),
    )
    write(tmp_path / "hostile_module_never_imported.py", "raise SystemExit('imported!')\n")
    config = write(
        tmp_path / "b.yaml", f"prompts: [a]\nseeds: [1]\nsamplers: [Euler]\nsteps: [2]\nmodel: {{source: {folder}}}\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        line = assert_refused(cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress"), "unet")
    finally:
        sys.path.remove(str(tmp_path))
    assert "hostile_module_never_imported" in line and "diffusers" in line
    assert "hostile_module_never_imported" not in sys.modules
