"""`noise: {convention: ...}` in a benchmark file: an axis, out of today's cell ids, honoured by the runner."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image
from spine_helpers import write_config

import bench
from bench.cli import main
from bench.config import load_config
from bench.infotext import parse_infotext
from bench.matrix import CELL_ID_VERSION, expand
from bench.pnginfo import read_parameters
from bench.runner import run


def test_the_default_convention_keeps_todays_cell_ids(tmp_path):
    default = expand(load_config(write_config(tmp_path / "a.yaml")))
    explicit = expand(load_config(write_config(tmp_path / "b.yaml", noise={"convention": "samplerbench"})))
    comfy = expand(load_config(write_config(tmp_path / "c.yaml", noise={"convention": "comfyui"})))
    assert [c.id for c in default] == [c.id for c in explicit]
    for cell in default:  # the id as it was computed before the axis existed
        before = {k: v for k, v in cell.identity().items()}
        assert "noise" not in before and before["v"] == CELL_ID_VERSION
        blob = json.dumps(before, sort_keys=True, separators=(",", ":"), default=str)
        assert cell.id == hashlib.sha256(blob.encode()).hexdigest()[:16]
    assert not {c.id for c in default} & {c.id for c in comfy}


@pytest.mark.parametrize(
    "noise, message",
    [
        ({"convention": "gpu"}, "unknown noise convention 'gpu'; known: samplerbench, comfyui, a1111"),
        ({"conventon": "comfyui"}, "conventon"),
        ("comfyui", "expected a mapping"),
        ({"convention": ["comfyui", "comfyui"]}, "duplicate value 'comfyui'"),
    ],
)
def test_a_bad_noise_key_is_one_located_line(tmp_path, capsys, noise, message):
    path = write_config(tmp_path / "b.yaml", noise=noise)
    assert main(["run", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(path) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_conventions_are_an_axis_and_change_stochastic_images(tmp_path):
    path = write_config(
        tmp_path / "b.yaml",
        noise={"convention": ["samplerbench", "comfyui", "a1111"]},
        samplers=["Euler", "Euler a"],
        prompts=["a red circle"],
        steps=[4],
        seeds=[1, 2],
        size=[16, 16],
        metrics=[],
    )
    run(load_config(path), progress=False)
    frame = bench.load_results(tmp_path / "run")
    assert (
        len(frame) == 12 and (frame.status == "ok").all() and set(frame.noise) == {"samplerbench", "comfyui", "a1111"}
    )

    def image(sampler: str, noise: str, seed: int) -> np.ndarray:
        row = frame[(frame.sampler == sampler) & (frame.noise == noise) & (frame.seed == seed)].iloc[0]
        return np.asarray(Image.open(tmp_path / "run" / row.image)).astype(int)

    for seed in (1, 2):
        # Euler: the same noise; only ComfyUI's sqrt(1 + sigma^2) start differs (by a hair)
        assert np.array_equal(image("Euler", "samplerbench", seed), image("Euler", "a1111", seed))
        # Euler a: three different noise streams
        a = [image("Euler a", n, seed) for n in ("samplerbench", "comfyui", "a1111")]
        assert not np.array_equal(a[0], a[1]) and not np.array_equal(a[0], a[2]) and not np.array_equal(a[1], a[2])
    comfy = frame[(frame.noise == "comfyui")].iloc[0]
    info = parse_infotext(read_parameters(tmp_path / "run" / comfy.image) or "")
    assert info.fields["Noise convention"] == "comfyui"
    plain = frame[(frame.noise == "samplerbench")].iloc[0]
    assert "Noise convention" not in parse_infotext(read_parameters(tmp_path / "run" / plain.image) or "").fields
