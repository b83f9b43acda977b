"""Metrics through a real `bench run`: defaults, notes, cached references, resume, convergence orders."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

import bench
from bench.aggregate import convergence_orders
from bench.cli import main
from bench.metrics import ode_reference
from bench.metrics.calculators import STOCHASTIC_NOTE


def write(tmp_path: Path, name: str = "b.yaml", **overrides) -> Path:
    config = {
        "name": "metrics",
        "prompts": ["a red circle", "a blue square on yellow"],
        "seeds": [1, 2, 3],
        "samplers": ["Euler", "Euler a"],
        "steps": [4],
        "size": [8, 8],
        "batch_size": 3,
        "output": "run",
    }
    config.update(overrides)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def meta(run_dir: Path) -> dict:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


def references(run_dir: Path) -> list[tuple]:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return db.execute("SELECT key, error, info FROM metric_references").fetchall()


def test_default_analytic_metrics_notes_and_cached_references(tmp_path: Path) -> None:
    assert main(["run", str(write(tmp_path)), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert {"ode_error", "alignment", "fidelity", "coverage"} <= set(frame.columns)
    assert "clip_score" not in frame.columns and "ref_rmse" not in frame.columns
    assert frame[["ode_error", "alignment", "fidelity", "coverage"]].notna().all().all()
    assert (frame.alignment.between(0, 1)).all() and (frame.ode_error > 0).all()
    for _, group in frame.groupby(["prompt", "sampler"]):
        assert group.coverage.nunique() == 1  # one value per group of seeds
        assert all(any(n.startswith("coverage: over 3 seeds") for n in notes) for notes in group.notes)
    stochastic = frame[frame.stochastic]
    assert len(stochastic) == 6 and all(STOCHASTIC_NOTE in " ".join(n) for n in stochastic.notes)
    assert not any(STOCHASTIC_NOTE in " ".join(n) for n in frame[~frame.stochastic].notes)
    refs = references(tmp_path / "run")
    assert len(refs) == 6  # one per (prompt, seed): shared by every sampler and step count
    assert max(error for _, error, _ in refs) < 1e-6  # a bound: the gap to the looser check solve
    seconds = meta(tmp_path / "run")["metric_seconds"]
    assert set(seconds) == {"ode_error", "alignment", "fidelity", "coverage"}


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_extended_run_reuses_references_and_completes_coverage_across_batches(tmp_path, monkeypatch) -> None:
    assert main(["run", str(write(tmp_path, samplers=["Euler"])), "--no-progress", "--no-report"]) == 0
    before = bench.load_results(tmp_path / "run").set_index("cell_id").ode_error

    def no_solve(*args, **kwargs):
        raise AssertionError("a cached reference was solved again")

    monkeypatch.setattr(ode_reference, "solve", no_solve)
    path = write(tmp_path, samplers=["Euler", "Heun"], batch_size=2)  # seeds 1,2 then 3: two batches
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run").set_index("cell_id")
    assert len(frame) == 12 and frame.ode_error.notna().all()
    assert (frame.loc[before.index, "ode_error"] == before).all()  # finished cells untouched
    heun = frame[frame.sampler == "Heun"]
    for _, group in heun.groupby("prompt"):  # completed when seed 3 arrived, written back to seeds 1, 2
        assert group.coverage.notna().all() and group.coverage.nunique() == 1
    assert not [w for w in meta(tmp_path / "run")["warnings"] if "not measured" in w]


def test_ode_error_falls_with_the_order_of_each_method(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        prompts=["a red circle"],
        seeds=[1, 2],
        steps=[20, 40, 80],
        cfg_scale=7.0,
        samplers=["Euler Karras", "Heun Karras", "DPM++ 2M"],
        metrics=["ode_error"],
    )
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    for _, part in frame.groupby("sampler"):
        means = part.groupby("steps").ode_error.mean()
        assert means.is_monotonic_decreasing and means.iloc[-1] < means.iloc[0] / 3
    orders = convergence_orders(frame).set_index("sampler")["order"]
    assert 0.8 < orders["Euler Karras"] < 1.25
    assert 1.7 < orders["Heun Karras"] < 2.5
    assert 1.6 < orders["DPM++ 2M"] < 2.5


def test_stiff_groups_say_so_on_their_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path, prompts=["a purple ring on white"], seeds=[1], samplers=["Euler"], metrics=["ode_error", "alignment"]
    )
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert "stiff" in " ".join(frame.notes.iloc[0])
    assert "fidelity" not in frame.columns  # an explicit list is the whole list


def test_empty_prompt_has_no_alignment_and_says_why(tmp_path: Path) -> None:
    """The config refuses empty prompts; the calculator still never invents a value for one."""

    import numpy as np
    import torch

    from bench.config import load_config
    from bench.matrix import expand
    from bench.metrics.calculators import Batch, Resources, alignment, fidelity
    from bench.models.analytic import AnalyticModel

    config = load_config(write(tmp_path, seeds=[1], samplers=["Euler"]))
    cell = expand(config)[0].with_(prompt="")
    res = Resources(config, AnalyticModel(), "analytic", None, [])
    batch = Batch([cell], torch.zeros(1, 3, 8, 8), np.zeros((1, 8, 8, 3), np.uint8))
    assert alignment(res, batch) == [(None, "alignment: not measured: the empty prompt names no concept")]
    value, note = fidelity(res, batch)[0]  # the unconditional mixture's components
    assert value is not None and value > 0 and note is None


def test_metrics_off_is_a_timing_only_run(tmp_path: Path) -> None:
    assert main(["run", str(write(tmp_path, metrics=[])), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert not {"ode_error", "alignment", "fidelity", "coverage"} & set(frame.columns)


@pytest.mark.parametrize(
    "overrides, where, message",
    [
        ({"metrics": ["ode_eror"]}, "metrics[0]", "unknown metric 'ode_eror'. Did you mean 'ode_error'?"),
        ({"metrics": ["ode_error", "ode_error"]}, "metrics[1]", "duplicate metric"),
        ({"metrics": ["ode_error"], "clip": {"model": "ViT-B-32"}}, "clip", "does not list clip_score"),
        ({"clip": {"modle": "ViT-B-32"}}, "clip.modle", "unknown key 'modle'. Did you mean 'model'?"),
        ({"reference": {"steps": 50}}, "reference", "reference: applies to other models only"),
        (
            {"model": {"arch": "tiny", "weights": "random"}, "metrics": ["alignment"]},
            "metrics[0]",
            "alignment needs the analytic model",
        ),
        (
            {"model": {"arch": "tiny", "weights": "random"}, "reference": {"sampler": "Euler a"}},
            "reference.sampler",
            "is stochastic",
        ),
        (
            {"model": {"arch": "tiny", "weights": "random"}, "reference": {"sampler": "Eular"}},
            "reference.sampler",
            "Euler",
        ),
        (
            {"model": {"arch": "tiny", "weights": "random"}, "metrics": ["clip_score"], "reference": {}},
            "reference",
            "lists neither ref_rmse nor ref_psnr",
        ),
    ],
)
def test_metric_settings_errors_are_located(tmp_path, capsys, overrides, where, message) -> None:
    path = write(tmp_path, **overrides)
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"{path}:" in err and f"{where}:" in err and message in err
    assert not (tmp_path / "run").exists()  # refused before anything ran
