"""The executor seam without Ray: settings and their precedence, the driver's idempotent commit, the
mixed-device warning, and the driver's view of a model (the Ray runs themselves: test_ray_executor.py)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest
from spine_helpers import write_config

from bench.config import load_config
from bench.errors import ConfigError
from bench.executors import ExecutorSettings, resolve, with_command_line
from bench.executors.commit import Committer, DriverModel, device_warnings, outcome_of
from bench.executors.ray_worker import plain_outcome
from bench.matrix import batches, expand
from bench.runner import load_for, run_local
from bench.session import ModelSession
from bench.store import Store


def test_executor_setting_parses_short_and_long_forms(tmp_path):
    assert load_config(write_config(tmp_path / "a.yaml")).executor is None  # the local executor
    assert load_config(write_config(tmp_path / "b.yaml", executor="ray")).executor == ExecutorSettings("ray")
    full = load_config(
        write_config(
            tmp_path / "c.yaml",
            executor={"kind": "ray", "address": "ray://head:10001", "gpus_per_worker": 0.5, "workers": 3},
        )
    ).executor
    assert full == ExecutorSettings("ray", "ray://head:10001", 0.5, 1.0, 3)


@pytest.mark.parametrize(
    "value, words",
    [
        ({"kind": "dask"}, "unknown executor 'dask'"),
        ({"kind": "ray", "gpus": 1}, "gpus"),
        ({"kind": "ray", "gpus_per_worker": 0}, "must be > 0"),
        ({"kind": "ray", "workers": 0}, "workers"),
    ],
)
def test_bad_executor_setting_names_the_key(tmp_path, value, words):
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path / "b.yaml", executor=value))
    assert "executor" in str(info.value) and words in str(info.value)


def test_command_line_wins_over_the_file():
    file = ExecutorSettings("ray", "auto", 2.0)
    assert with_command_line(file, "local", None).kind == "local"
    assert with_command_line(file, None, "ray://h:10001") == ExecutorSettings("ray", "ray://h:10001", 2.0)
    assert with_command_line(None, None, "auto") == ExecutorSettings("ray", "auto")
    assert with_command_line(None, None, None) == ExecutorSettings()
    assert resolve("local") is run_local


def test_help_imports_neither_torch_nor_ray():
    code = (
        "import sys\nfrom bench.cli import main\nfor argv in (['--help'], ['run', '--help']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]") and "--executor" in out and "--address" in out


@pytest.mark.slow  # k-diffusion's import and a warm-up: about 10 s here
def test_driver_commit_is_idempotent_by_cell_id(tmp_path):
    """A result that arrives twice (Ray retries are at-least-once) is written once and counted."""
    config = load_config(
        write_config(tmp_path / "b.yaml", samplers=["Euler"], steps=[2], seeds=[1, 2], metrics=["alignment"])
    )
    cells = expand(config)
    model = load_for(config, config.models[0])
    session = ModelSession(model)
    results = [[plain_outcome(o) for o in session.run_batch(batch, 1)] for batch in batches(cells, 2)]
    store = Store.open(config.output)
    description = {"identity": model.identity(), "device_type": "cpu", "random_weights": False}
    committer = Committer(config, store, DriverModel(config, config.models[0], description), store.begin_run([], {}))
    by_id = {c.id: c for c in cells}
    for _ in range(2):  # the same results twice: the second time every one is a duplicate
        for batch in results:
            committer.commit([outcome_of(by_id[r["cell_id"]], r) for r in batch], "host/cpu")
    committer.finish()
    store.close()
    assert committer.duplicates == len(cells) == 4
    with sqlite3.connect(config.output / "results.sqlite") as db:
        rows = db.execute("SELECT cell_id, status, worker, metrics FROM cells").fetchall()
    assert sorted(r[0] for r in rows) == sorted(by_id) and {r[1] for r in rows} == {"ok"}
    assert {r[2] for r in rows} == {"host/cpu"} and all("alignment" in r[3] for r in rows)
    assert all((config.output / "images" / f"{cid}.png").exists() for cid in by_id)


def test_driver_model_answers_identity_without_loading_and_loads_on_first_other_use(tmp_path):
    config = load_config(write_config(tmp_path / "b.yaml"))
    description = {"identity": {"kind": "analytic", "x": 1}, "device_type": "cuda", "random_weights": True}
    model = DriverModel(config, config.models[0], description)
    assert model.identity() == {"kind": "analytic", "x": 1} and model.random_weights
    assert model._model is None and model.device.type in ("cpu", "cuda")
    assert model.latent_shape(16, 16) == (3, 16, 16)  # anything else loads the model here, once
    assert model._model is not None and str(model.device) == "cpu"


def test_mixed_device_types_are_a_warning():
    gpu = {"device_type": "cuda", "device_name": "NVIDIA H100"}
    other = {"device_type": "cuda", "device_name": "NVIDIA A10G"}
    assert device_warnings([gpu, dict(gpu)]) == []
    (warning,) = device_warnings([gpu, other, dict(gpu)])
    assert "mixed devices" in warning and "H100" in warning and "A10G" in warning
