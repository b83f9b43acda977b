"""CLIP score and sampler references through a real `bench run` (tiny open_clip, tiny random SD)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
import yaml
from PIL import Image

import bench
from bench.cli import main
from bench.metrics.clip_score import ClipScorer, fetch_command

TINY = "samplerbench-metrics-tiny-clip"
TINY_CFG = {  # ENVIRONMENT.md: width 64, 2 layers, 32 px images
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def write(tmp_path: Path, **overrides) -> Path:
    config = {
        "name": "clip",
        "prompts": ["a red circle", "a green square"],
        "seeds": [1, 2],
        "samplers": ["Euler"],
        "steps": [3],
        "size": [8, 8],
        "output": "run",
    }
    config.update(overrides)
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def meta(run_dir: Path) -> dict:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    folder = tmp_path_factory.mktemp("clip_configs")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder)
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(TINY, pretrained=None)
    return model.eval(), preprocess, open_clip.get_tokenizer(TINY)


@pytest.fixture
def no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home and empty caches: no CLIP weights anywhere."""
    home = tmp_path / "home"
    home.mkdir()
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(home))
    return home


def test_clip_score_from_a_local_weights_file(tmp_path: Path, tiny_clip: tuple) -> None:
    from safetensors.torch import save_file

    model, preprocess, tokenizer = tiny_clip
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp_path / "tiny.safetensors"))
    path = write(tmp_path, clip={"model": TINY, "pretrained": "tiny.safetensors"})  # relative to the file
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert {"clip_score", "ode_error", "alignment", "fidelity", "coverage"} <= set(frame.columns)
    # the same numbers as the model's own encoders on the stored images
    scorer = ClipScorer.from_model(model, preprocess, tokenizer, "tiny")
    images = np.stack([np.asarray(Image.open(tmp_path / "run" / p)) for p in frame.image])
    expected = scorer.score(images, list(frame.prompt)).scores
    assert frame.clip_score.tolist() == pytest.approx(expected, abs=1e-3)
    assert len(set(np.round(frame.clip_score, 4))) > 1
    assert not [w for w in meta(tmp_path / "run")["warnings"] if "clip" in w.lower()]


def test_missing_clip_weights_run_on_without_the_column(tmp_path: Path, no_cache: Path, capsys) -> None:
    path = write(tmp_path, clip={"model": "ViT-B-32", "pretrained": "openai"})
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert "clip_score" not in frame.columns  # absent: never zero, never a random-weights number
    assert frame.ode_error.notna().all()  # the other metrics are there
    warnings = [w for w in meta(tmp_path / "run")["warnings"] if "clip_score" in w]
    assert len(warnings) == 1 and fetch_command("ViT-B-32", "openai") in warnings[0]
    err = [line for line in capsys.readouterr().err.splitlines() if "clip" in line.lower()]
    assert len(err) == 1 and fetch_command("ViT-B-32", "openai") in err[0]
    assert all(any(n.startswith("clip_score: not measured") for n in notes) for notes in frame.notes)


def test_unknown_clip_model_is_a_located_user_error(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, clip={"model": "ViT-B-33"})
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "clip" in err and "ViT-B-32" in err


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_sampler_reference_on_a_diffusers_model(tmp_path: Path) -> None:
    """ref_rmse / ref_psnr against a Heun-style deterministic reference, on a tiny random SD: the cell
    run by the reference sampler at its steps is the reference itself (0 and inf), others are not."""
    path = write(
        tmp_path,
        model={"arch": "tiny", "weights": "random", "seed": 0, "device": "cpu"},
        prompts=["a photo of a cat"],
        samplers=["DPM++ 2M Karras", "Euler"],
        steps=[4],
        size=[32, 32],
        metrics=["ref_rmse", "ref_psnr"],
        reference={"sampler": "DPM++ 2M Karras", "steps": 4},
    )
    assert main(["run", str(path), "--no-progress"]) == 0  # the report copes with an infinite PSNR
    frame = bench.load_results(tmp_path / "run")
    same = frame[frame.sampler == "DPM++ 2M Karras"]
    other = frame[frame.sampler == "Euler"]
    assert (same.ref_rmse == 0).all() and same.ref_psnr.map(math.isinf).all()
    assert (other.ref_rmse > 0).all() and np.isfinite(other.ref_psnr).all()
    assert "clip_score" not in frame.columns
    with sqlite3.connect(tmp_path / "run" / "results.sqlite") as db:
        rows = db.execute("SELECT key, error FROM metric_references").fetchall()
    assert len(rows) == 2 and all(error is None for _, error in rows)  # one per seed; error unknown
    assert all('"method": "sampler/k:dpmpp_2m/karras/4"' in key for key, _ in rows)
