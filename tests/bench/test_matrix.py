"""Cell ids: stable across processes and days, sensitive to what changes the image, blind to the rest."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from spine_helpers import write_config

from bench.config import load_config
from bench.matrix import batches, expand


def ids(path):
    return [c.id for c in expand(load_config(path))]


def test_expansion_is_the_full_product(tmp_path):
    cells = expand(load_config(write_config(tmp_path / "b.yaml", cfg_scale=[1.0, 7.0])))
    assert len(cells) == 2 * 3 * 2 * 2 * 2  # prompts x seeds x samplers x steps x cfg
    assert len({c.id for c in cells}) == len(cells)


def test_ids_are_the_same_in_another_process(tmp_path):
    path = write_config(tmp_path / "b.yaml")
    code = (
        "import sys; from bench.config import load_config; from bench.matrix import expand; "
        f"print(','.join(c.id for c in expand(load_config({str(path)!r}))))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.strip().split(",") == ids(path)


def test_id_is_the_documented_hash_of_the_image_parameters(tmp_path):
    # Changing this scheme invalidates every stored run: bump CELL_ID_VERSION on purpose if you must.
    cell = expand(load_config(write_config(tmp_path / "b.yaml")))[0]
    spelled_out = {
        "v": 1,
        "model": {"kind": "analytic", "version": 1, "components": 4, "std": 0.1, "dtype": "float32"},
        "prompt": "a red circle",
        "negative_prompt": "",
        "seed": 1,
        "sampler": "k:euler/normal",
        "steps": 2,
        "cfg_scale": 7.0,
        "width": 8,
        "height": 8,
        "clip_skip": 1,
    }
    blob = json.dumps(spelled_out, sort_keys=True, separators=(",", ":"))
    assert cell.id == hashlib.sha256(blob.encode()).hexdigest()[:16]


def test_ids_ignore_batching_and_repeats_but_not_image_parameters(tmp_path):
    base = ids(write_config(tmp_path / "a.yaml"))
    assert ids(write_config(tmp_path / "b.yaml", batch_size=1, repeats=3, name="other")) == base
    assert ids(write_config(tmp_path / "c.yaml", samplers=["euler", "Euler a"])) == base  # alias
    for change in (
        {"steps": [2, 4]},
        {"size": [16, 8]},
        {"cfg_scale": 5.0},
        {"negative_prompt": "x"},
        {"model": {"kind": "analytic", "std": 0.2}},
        {"clip_skip": 2},
    ):
        changed = ids(write_config(tmp_path / "d.yaml", **change))
        assert set(changed) != set(base), change


def test_batches_group_seeds_of_one_cell_group(tmp_path):
    cells = expand(load_config(write_config(tmp_path / "b.yaml", batch_size=2)))
    groups = list(batches(cells, 2))
    assert all(len({c.group_key() for c in g}) == 1 for g in groups)
    assert sorted(len(g) for g in groups)[:2] == [1, 1] and max(len(g) for g in groups) == 2
    assert sum(len(g) for g in groups) == len(cells)
    assert cells[0].with_(seed=99).group_key() == cells[0].group_key()


GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden_ids.yaml"
#: computed by the release before the cell record (3072 cells over every axis and model kind)
GOLDEN_DIGEST = "f046f23b8c34ae43ab6b2645cf274c2c0affa48e209fbc1d0a5400027d7f0d9f"
GOLDEN_FIRST_ID_PER_MODEL = {
    "analytic": "0579431e40a93402",
    "analytic (components=8, dtype=float64, std=0.2)": "af8dc66771576811",
    "tiny (weights=random)": "c658a58d2cfb18e4",
    "sd15 (dtype=float16, seed=3, weights=random)": "9c72c211270e9a9d",
    "runwayml/stable-diffusion-v1-5 (dtype=float16, variant=fp16)": "3d06d2e1f22ba139",
    "C:\\models\\v1-5.safetensors (prediction_type=v_prediction)": "098b184d6b0d1217",
}


def test_every_cell_id_of_the_previous_release_is_unchanged():
    cells = expand(load_config(GOLDEN))
    assert len(cells) == 3072
    assert hashlib.sha256(",".join(c.id for c in cells).encode()).hexdigest() == GOLDEN_DIGEST
    first: dict[str, str] = {}
    for cell in cells:
        first.setdefault(cell.model.label, cell.id)
    assert first == GOLDEN_FIRST_ID_PER_MODEL  # one golden id per model kind, and every label distinct


def test_a_model_label_is_not_part_of_the_id(tmp_path):
    plain = ids(write_config(tmp_path / "a.yaml", model={"kind": "analytic", "std": 0.2}))
    named = ids(write_config(tmp_path / "b.yaml", model={"kind": "analytic", "std": 0.2, "label": "wide"}))
    assert plain == named
