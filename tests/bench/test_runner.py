"""The runner and store end to end on the analytic model: fairness, isolation, resume, exports."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import spine_helpers
import torch
from PIL import Image
from spine_helpers import register_test_family, unregister_test_family, write_config

import bench
from bench.cli import main
from bench.config import load_config
from bench.infotext import parse_infotext
from bench.pnginfo import read_parameters
from bench.runner import run


@pytest.fixture(autouse=True)
def _no_test_samplers_left_behind():
    """Tests here may add the test sampler family; other test files must not see it."""
    yield
    unregister_test_family()


def test_every_sampler_gets_the_same_starting_noise(tmp_path):
    register_test_family()
    spine_helpers.RECORDED.clear()
    config = load_config(
        write_config(
            tmp_path / "b.yaml", samplers=["test record", "Euler"], prompts=["a red circle"], steps=[3], seeds=[5, 6]
        )
    )
    run(config, progress=False)
    (task,) = [t for t in spine_helpers.RECORDED if t.steps == 3]  # the other is the untimed warm-up
    ref = torch.stack([torch.randn((3, 8, 8), generator=torch.Generator().manual_seed(s)) for s in (5, 6)])
    assert torch.equal(task.noise, ref)
    frame = bench.load_results(config.output)
    euler = frame[frame.sampler == "Euler"].sort_values("seed")
    recorded = frame[frame.sampler == "test record"].sort_values("seed")
    assert list(euler.fingerprint) == list(recorded.fingerprint)  # same noise, same maths, same image


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_an_image_does_not_depend_on_its_batch(tmp_path):
    def images(batch_size: int, name: str) -> dict:
        config = load_config(
            write_config(
                tmp_path / f"{name}.yaml", batch_size=batch_size, output=str(tmp_path / name), seeds=[1, 2, 3, 4]
            )
        )
        run(config, progress=False)
        frame = bench.load_results(config.output)
        return {r.cell_id: np.asarray(Image.open(config.output / r.image)) for r in frame.itertuples()}

    alone, together = images(1, "alone"), images(4, "together")
    assert alone.keys() == together.keys() and len(alone) == 2 * 4 * 2 * 2
    for cell_id, image in alone.items():
        assert np.array_equal(image, together[cell_id]), cell_id


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_nan_and_exceptions_fail_their_cells_only(tmp_path, capsys):
    register_test_family()
    path = write_config(tmp_path / "b.yaml", samplers=["Euler", "test nan2", "test raises"])
    assert main(["run", str(path), "--no-progress"]) == 1
    frame = bench.load_results(tmp_path / "run")
    assert len(frame) == 2 * 3 * 3 * 2
    failed = frame[frame.status == "failed"]
    nan_cells = failed[failed.sampler == "test nan2"]
    assert set(nan_cells.seed) == {2} and nan_cells.error.str.contains("NaN").all()
    assert (failed[failed.sampler == "test raises"].error.str.contains("deliberate failure")).all()
    assert len(failed) == 4 + 12
    assert frame[frame.status == "ok"].image.notna().all() and failed.image.isna().all()
    assert "16 cell(s) failed" in capsys.readouterr().err


def test_resume_skips_done_cells_force_reruns_and_new_samplers_run_alone(tmp_path):
    path = write_config(tmp_path / "b.yaml")
    first = run(load_config(path), progress=False)
    assert (first.ran, first.skipped) == (24, 0)
    again = run(load_config(path), progress=False)
    assert (again.ran, again.skipped) == (0, 24)
    more = run(load_config(write_config(path, samplers=["Euler", "Euler a", "Heun"])), progress=False)
    assert (more.ran, more.skipped) == (12, 24)
    forced = run(load_config(path), force=True, progress=False)
    assert forced.ran == 36
    frame = bench.load_results(tmp_path / "run")
    assert len(frame) == 36 and frame.cell_id.is_unique
    assert len(list((tmp_path / "run" / "images").glob("*.png"))) == 36


KILLABLE = """
import sys
sys.path.insert(0, {tests!r})
from spine_helpers import register_test_family
register_test_family()
from bench.cli import main
sys.exit(main(["run", {config!r}, "--no-progress"]))
"""


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_a_run_killed_with_sigkill_resumes_with_nothing_lost_or_duplicated(tmp_path):
    path = write_config(tmp_path / "b.yaml", samplers=["test slow", "Euler"], batch_size=1, seeds=[1, 2, 3, 4])
    script = KILLABLE.format(tests=str(Path(__file__).resolve().parents[1]), config=str(path))
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "run" / "results.sqlite"
    deadline = time.time() + 60
    done_before = 0
    while time.time() < deadline and done_before < 3:
        time.sleep(0.05)
        if db.exists():
            try:
                with sqlite3.connect(db) as con:
                    done_before = con.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            except sqlite3.OperationalError:
                pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as con:
        finished = dict(con.execute("SELECT cell_id, finished_at FROM cells"))
    assert 3 <= len(finished) < 32, "the run should have been killed midway"

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    frame = bench.load_results(tmp_path / "run")
    assert len(frame) == 32 and frame.cell_id.is_unique and (frame.status == "ok").all()
    kept = frame.set_index("cell_id").loc[list(finished), "finished_at"]
    assert kept.to_dict() == finished  # finished cells were not run again
    images = sorted(p.stem for p in (tmp_path / "run" / "images").iterdir())
    assert images == sorted(frame.cell_id)  # no temp files left, one PNG per cell


def test_png_carries_a1111_parameters_that_round_trip(tmp_path):
    path = write_config(
        tmp_path / "b.yaml",
        prompts=['a red circle, "quoted": yes'],
        negative_prompt="blurry",
        samplers=["DPM++ 2M Karras"],
        steps=[3],
        seeds=[7],
    )
    run(load_config(path), progress=False)
    row = bench.load_results(tmp_path / "run").iloc[0]
    info = parse_infotext(read_parameters(tmp_path / "run" / row.image) or "")
    params = info.fields
    assert info.prompt == 'a red circle, "quoted": yes' and info.negative_prompt == "blurry"
    assert params["Steps"] == "3" and params["Seed"] == "7" and params["Size"] == "8x8"
    assert params["Sampler"] == "DPM++ 2M" and params["Schedule type"] == "Karras"  # as A1111 1.9+ writes
    assert params["CFG scale"] == "7.0" and params["Cell id"] == row.cell_id and params["RNG"] == "CPU"


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_results_frame_and_exports(tmp_path):
    path = write_config(tmp_path / "b.yaml", repeats=3)
    assert main(["run", str(path), "--no-progress"]) == 0
    frame = bench.load_results(tmp_path / "run")
    for column in (
        "cell_id",
        "status",
        "error",
        "prompt",
        "seed",
        "sampler",
        "sampler_id",
        "schedule",
        "steps",
        "cfg_scale",
        "nfe",
        "encode_s",
        "sample_s",
        "decode_s",
        "total_s",
        "peak_mem_bytes",
    ):
        assert column in frame.columns, column
    assert (frame.sample_s_repeats.map(len) == 3).all()
    assert np.allclose(frame.sample_s, frame.sample_s_repeats.map(np.median))
    euler = frame[frame.sampler == "Euler"]
    assert set(zip(euler.steps, euler.nfe)) == {(2, 2), (3, 3)}  # a CFG pair is one evaluation
    assert (frame.peak_mem_kind == "cpu_peak_rss_process").all() and (frame.peak_mem_bytes > 0).all()
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "run" / "results.csv")) == 24
    assert len(pd.read_parquet(tmp_path / "run" / "results.parquet")) == 24


def test_help_does_not_import_torch():
    code = (
        "import sys\nfrom bench.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'CLEAN')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("CLEAN") and "usage: bench" in out


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_bench_run_end_to_end_in_a_process(tmp_path):
    path = write_config(tmp_path / "b.yaml")
    result = subprocess.run(["bench", "run", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "24 cells" in result.stdout and "s/image" in result.stdout and "Euler a" in result.stdout
    assert "24/24 cells" in result.stderr  # the progress line
    assert (tmp_path / "run" / "results.sqlite").exists()
    version = subprocess.run(["bench", "--version"], capture_output=True, text=True)
    assert version.stdout.startswith("samplerbench ")
