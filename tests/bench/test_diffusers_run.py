"""A real `bench run` -> store -> report on a tiny random Stable Diffusion, both sampler families."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import bench
from bench.cli import main

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, **overrides) -> Path:
    config = {
        "name": "sd-tiny",
        "model": {"arch": "tiny", "weights": "random", "seed": 0, "device": "cpu"},
        "prompts": ["a photo of a cat"],
        "seeds": [1, 2],
        "steps": [3],
        "size": [64, 64],
        "samplers": ["Euler", "Euler a", "DPM++ 2M Karras", "DDIM", "UniPC", "EulerDiscreteScheduler"],
        "batch_size": 2,
        "output": str(tmp_path / "run"),
    }
    config.update(overrides)
    path = tmp_path / "sd.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_tiny_random_sd_runs_both_families_into_store_and_report(tmp_path):
    assert main(["run", str(write(tmp_path)), "--no-progress"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert len(frame) == 12 and (frame.status == "ok").all()
    assert set(frame.family) == {"k", "diffusers"}
    assert frame.random_weights.all()  # every figure from random weights is flagged
    image = np.asarray(Image.open(tmp_path / "run" / frame.image.iloc[0]))
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    with sqlite3.connect(tmp_path / "run" / "results.sqlite") as db:
        meta = {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}
    assert meta["model"]["random_weights"] is True and meta["model"]["arch"] == "tiny"
    assert any("random weights" in w for w in meta["warnings"])
    html = (tmp_path / "run" / "report.html").read_text()
    assert "random weights" in html.lower()


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_same_noise_same_image_in_both_families_for_the_same_algorithm(tmp_path):
    """k-diffusion Euler and diffusers' EulerDiscrete (linspace) solve the same ODE from the same noise."""
    assert (
        main(
            [
                "run",
                str(write(tmp_path, samplers=["Euler", "EulerDiscreteScheduler"], steps=[8])),
                "--no-progress",
                "--no-report",
            ]
        )
        == 0
    )
    frame = bench.load_results(tmp_path / "run").sort_values("seed")
    k = np.array(frame[frame.family == "k"].fingerprint.tolist())
    d = np.array(frame[frame.family == "diffusers"].fingerprint.tolist())
    assert np.abs(k - d).max() < 1e-3 * max(1.0, np.abs(k).max())


def test_clip_skip_is_an_axis_and_changes_the_image(tmp_path):
    assert (
        main(["run", str(write(tmp_path, samplers=["Euler"], clip_skip=[1, 2])), "--no-progress", "--no-report"]) == 0
    )
    frame = bench.load_results(tmp_path / "run")
    assert sorted(frame.clip_skip.unique()) == [1, 2]
    one = frame[frame.clip_skip == 1].sort_values("seed").fingerprint.tolist()
    two = frame[frame.clip_skip == 2].sort_values("seed").fingerprint.tolist()
    assert one != two


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_unreachable_hub_is_one_line_exit_2(tmp_path):
    path = write(tmp_path, model={"source": "some-org/some-model-that-is-not-cached"})
    result = subprocess.run(
        [sys.executable, "-m", "bench.cli", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "some-org/some-model-that-is-not-cached" in result.stderr


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_gpu_check_script_runs_on_cpu_with_tiny_models():
    result = subprocess.run(
        [sys.executable, "perf/gpu_check.py", "--tiny", "--repeats", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith(("tiny ", "tiny-xl"))]
    assert len(lines) == 7 and all(ln.rstrip().endswith("ok") for ln in lines)


def test_a_size_the_model_cannot_take_is_a_config_error_before_any_cell(tmp_path, capsys):
    path = write(tmp_path, size=[60, 60], samplers=["Euler"])
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "60x60" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "results.sqlite").exists()  # refused before the store opens
