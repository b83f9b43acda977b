"""How much an image depends on its batch, per model: nothing on the analytic model, a pixel level on a UNet.

The samplers never mix the images of a batch (tests/test_samplers_conformance.py), but a UNet's and a text
encoder's kernels round differently with the batch size (about 1e-6), so a Stable Diffusion image made in a
batch of 4 may differ from the same cell made alone by a pixel level here and there. Measured on the tiny
random SD with `pytest -m slow tests/test_batch_dependence.py -s` (the line it prints).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

import bench
from bench.cli import main

SAMPLERS = ["Euler", "Euler a", "DPM++ 2M Karras"]
SEEDS = [1, 2, 3, 4]


def images(tmp_path, model, batch_size: int) -> dict[str, np.ndarray]:
    out = tmp_path / f"run{batch_size}"
    size = [16, 16] if model == "analytic" else [64, 64]
    config = {
        "name": "batch",
        "model": model,
        "prompts": ["a photo of a cat"],
        "seeds": SEEDS,
        "steps": [4],
        "size": size,
        "samplers": SAMPLERS,
        "batch_size": batch_size,
        "metrics": [],
        "output": str(out),
    }
    path = tmp_path / f"b{batch_size}.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(out)
    return {r.cell_id: np.asarray(Image.open(out / r.image)).astype(int) for r in frame.itertuples()}


def batch_difference(tmp_path, model) -> tuple[int, int, int]:
    """(images that change between batch_size 1 and 4, of how many, the largest change in pixel levels)."""
    alone, together = images(tmp_path, model, 1), images(tmp_path, model, 4)
    assert alone.keys() == together.keys()
    diffs = [int(np.abs(alone[k] - together[k]).max()) for k in alone]
    return sum(d > 0 for d in diffs), len(diffs), max(diffs)


@pytest.mark.slow  # tests/test_runner.py checks the analytic model's invariance in the fast suite
def test_the_analytic_model_never_depends_on_the_batch(tmp_path):
    changed, total, _ = batch_difference(tmp_path, "analytic")
    assert (changed, total) == (0, len(SAMPLERS) * len(SEEDS))


@pytest.mark.slow
def test_a_unet_image_depends_on_its_batch_by_at_most_a_pixel_level_or_two(tmp_path):
    changed, total, worst = batch_difference(
        tmp_path, {"arch": "tiny", "weights": "random", "seed": 0, "device": "cpu"}
    )
    print(f"\ntiny random SD, batch_size 1 vs 4: {changed} of {total} images change, by at most {worst} level(s)")
    assert total == len(SAMPLERS) * len(SEEDS)
    assert worst <= 2  # rounding in the UNet, not a different image


@pytest.mark.slow
def test_bench_check_tells_batch_noise_from_a_real_change(tmp_path, capsys):
    """The drift default (0.0001 of the fingerprint's RMS) passes the same run at another batch size on a
    UNet, and fails the same cells when the model's output moves by 1 %."""
    tiny = {"arch": "tiny", "weights": "random", "seed": 0, "device": "cpu"}
    images(tmp_path, tiny, 4)
    images(tmp_path, tiny, 1)
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(tmp_path / "run4"), "-o", str(baseline)]) == 0
    capsys.readouterr()
    assert main(["check", str(tmp_path / "run1"), "--baseline", str(baseline)]) == 0
    report = capsys.readouterr().out
    assert "REGRESSIONS" not in report  # no drift: a pixel level of batch noise is far below the default
    assert "batch size differs" in report  # said, as a warning, not a failure

    import dataclasses

    import samplers
    import samplers.kdiffusion

    real = samplers.kdiffusion.sample

    def perturbed(spec, task):  # the model's prediction 1 % off: a real change of the same cells
        eps = task.eps
        return real(spec, dataclasses.replace(task, eps=lambda x, t: eps(x, t) * 1.01))

    config = yaml.safe_load((tmp_path / "b1.yaml").read_text())
    config["output"] = str(tmp_path / "moved")
    (tmp_path / "moved.yaml").write_text(yaml.safe_dump(config))
    samplers.FAMILIES.replace("k", perturbed)
    try:
        assert main(["run", str(tmp_path / "moved.yaml"), "--no-progress", "--no-report"]) == 0
    finally:
        samplers.FAMILIES.replace("k", real)
    capsys.readouterr()
    assert main(["check", str(tmp_path / "moved"), "--baseline", str(baseline)]) == 1
    regressions = capsys.readouterr().out.split("REGRESSIONS")[1]
    assert "drift" in regressions
