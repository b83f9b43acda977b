"""`bench export`: a cell as a ComfyUI workflow, an A1111 infotext, or a diffusers script that remakes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from spine_helpers import write_config
from test_comfy_workflow import validate

import bench
from bench.cli import main
from bench.config import load_config
from bench.infotext import parse_infotext
from bench.pnginfo import read_parameters
from bench.runner import run

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def analytic_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("analytic")
    run(
        load_config(
            write_config(
                tmp / "b.yaml",
                prompts=['a red circle, "x": y\nNegative prompt: z'],
                samplers=["DPM++ 2M Karras"],
                steps=[2],
                seeds=[4],
                metrics=[],
            )
        ),
        progress=False,
    )
    return tmp / "run", bench.load_results(tmp / "run").iloc[0]


def test_a1111_export_is_the_png_infotext(analytic_run, capsys, tmp_path):
    run_dir, row = analytic_run
    assert main(["export", str(run_dir), row.cell_id[:8], "--to", "a1111"]) == 0
    text = capsys.readouterr().out
    assert text.rstrip("\n") == read_parameters(run_dir / row.image)
    info = parse_infotext(text.rstrip("\n"))
    assert info.prompt == row.prompt and info.fields["Cell id"] == row.cell_id and info.fields["RNG"] == "CPU"
    out = tmp_path / "x.txt"
    assert main(["export", str(run_dir), row.cell_id, "--to", "a1111", "-o", str(out)]) == 0
    assert out.read_text() == text


@pytest.mark.parametrize(
    "target, why", [("comfyui", "not a Stable Diffusion checkpoint"), ("diffusers", "diffusers does not have")]
)
def test_the_analytic_model_has_no_workflow_nor_script(analytic_run, capsys, target, why):
    run_dir, row = analytic_run
    assert main(["export", str(run_dir), row.cell_id, "--to", target]) == 2
    err = capsys.readouterr().err
    assert why in err and len(err.strip().splitlines()) == 1


def test_unknown_cell_or_run_is_one_line_exit_2(analytic_run, capsys, tmp_path):
    run_dir, _ = analytic_run
    assert main(["export", str(run_dir), "nope", "--to", "a1111"]) == 2
    assert "no cell with id 'nope'" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing"), "abc", "--to", "a1111"]) == 2
    assert "not a run directory" in capsys.readouterr().err and not (tmp_path / "missing").exists()


SD_SAMPLERS = ["Euler a", "DPM++ SDE Karras", "DPM++ 2M", "DDIM", "EulerAncestralDiscreteScheduler"]


@pytest.fixture(scope="module")
def sd_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sd")
    config = {
        "name": "sd-tiny",
        "model": {"arch": "tiny", "weights": "random", "seed": 0, "device": "cpu"},
        "prompts": ["a photo of a cat"],
        "negative_prompt": "blurry",
        "seeds": [3],
        "steps": [3],
        "size": [64, 64],
        "clip_skip": [2],
        "samplers": SD_SAMPLERS,
        "batch_size": 1,
        "output": str(tmp / "run"),
    }
    (tmp / "sd.yaml").write_text(yaml.safe_dump(config))
    assert main(["run", str(tmp / "sd.yaml"), "--no-progress", "--no-report"]) == 0
    return tmp / "run", bench.load_results(tmp / "run").set_index("sampler")


@pytest.mark.slow
@pytest.mark.parametrize("sampler", SD_SAMPLERS)
def test_diffusers_script_remakes_the_stored_image_bit_for_bit(sd_run, sampler, tmp_path):
    run_dir, frame = sd_run
    row = frame.loc[sampler]
    script = tmp_path / "remake.py"
    assert main(["export", str(run_dir), row.cell_id, "--to", "diffusers", "-o", str(script)]) == 0
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # random weights come from samplerbench's builder
    result = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "out.png")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    stored = np.asarray(Image.open(run_dir / row.image))
    remade = np.asarray(Image.open(tmp_path / "out.png"))
    assert np.array_equal(stored, remade)


@pytest.mark.slow
def test_sd_pngs_carry_the_comfyui_workflow_that_export_writes(sd_run, capsys):
    run_dir, frame = sd_run
    row = frame.loc["DPM++ 2M"]
    chunk = json.loads(read_parameters(run_dir / row.image, "prompt") or "null")
    validate(chunk)
    assert main(["export", str(run_dir), row.cell_id, "--to", "comfyui"]) == 0
    assert json.loads(capsys.readouterr().out) == chunk
    ksampler = next(n["inputs"] for n in chunk.values() if n["class_type"] == "KSampler")
    assert (ksampler["sampler_name"], ksampler["scheduler"], ksampler["seed"]) == ("dpmpp_2m", "karras", 3)
    ddim = frame.loc["DDIM"]
    assert read_parameters(run_dir / ddim.image, "prompt") is None  # ComfyUI has no diffusers DDIM
    assert main(["export", str(run_dir), ddim.cell_id, "--to", "comfyui"]) == 2
