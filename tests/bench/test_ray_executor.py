"""The Ray executor on a local Ray (2 CPUs, loopback only, started and stopped here): a run through Ray
equals the local run cell for cell (ids, PNG pixels, fingerprints, NFE, metrics), on the analytic
model and on a tiny random Stable Diffusion, also when a worker or the driver is killed mid-run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from spine_helpers import write_config

import bench
from bench.config import load_config
from bench.executors import ExecutorSettings
from bench.runner import run, torch_threads

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: what must be equal between two runs of one benchmark (times, memory, run ids and workers may differ)
SAME = ("status", "error", "nfe", "fingerprint", "image", "batch_size")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray with 2 CPUs on 127.0.0.1 (Ray otherwise binds the machine's address); its address.

    Ray's switch for a loopback-only node is RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, read once when ray is
    imported: set for the processes Ray and this module start, and on the imported constant here.
    """
    from ray._private import ray_constants

    saved = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    saved_constant = ray_constants.ENABLE_RAY_CLUSTER
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:")
        yield address
    finally:
        ray.shutdown()
        ray_constants.ENABLE_RAY_CLUSTER = saved_constant
        if saved is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = saved


def on_ray(config, output: Path):
    return replace(config, executor=ExecutorSettings("ray"), output=output)


def assert_same_store(local: Path, distributed: Path) -> None:
    """Cell for cell: the same ids, statuses, NFE, fingerprints, metrics and bit-identical PNG pixels."""
    a = bench.load_results(local).set_index("cell_id").sort_index()
    b = bench.load_results(distributed).set_index("cell_id").sort_index()
    assert list(a.index) == list(b.index) and len(a) > 0
    assert (b.status == "ok").all()
    metrics = sorted(_metric_names(local))
    assert metrics == sorted(_metric_names(distributed))
    for column in SAME + tuple(metrics):
        assert a[column].astype(str).tolist() == b[column].astype(str).tolist(), column
    for cell_id in a.index:
        pixels = [np.asarray(Image.open(run_dir / "images" / f"{cell_id}.png")) for run_dir in (local, distributed)]
        assert np.array_equal(*pixels), cell_id
    assert b.worker.notna().all() and a.worker.isna().all()


def _metric_names(run_dir: Path) -> set[str]:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return {k for (m,) in db.execute("SELECT metrics FROM cells") for k in json.loads(m or "{}")}


def meta(run_dir: Path) -> dict:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


ANALYTIC = {
    "prompts": ["a red circle", "a blue square"],
    "seeds": [1, 2, 3],
    "size": [16, 16],
    "samplers": ["Euler", "DPM++ 2M", "DPM++ SDE"],
    "steps": [4, 8],
    "batch_size": 1,
}


@pytest.fixture(scope="module")
def analytic(tmp_path_factory):
    """The analytic benchmark (its default metrics) and its local run."""
    root = tmp_path_factory.mktemp("analytic")
    config = load_config(write_config(root / "b.yaml", **ANALYTIC))
    run(config, progress=False)
    return config, config.output


def test_analytic_run_on_ray_equals_the_local_run(cluster, analytic, tmp_path):
    config, local = analytic
    summary = run(on_ray(config, tmp_path / "ray"), progress=False)
    assert summary.ran == 36 and summary.failed == 0
    assert {"ode_error", "alignment", "fidelity", "coverage"} <= _metric_names(tmp_path / "ray")
    assert_same_store(local, tmp_path / "ray")
    (account,) = meta(tmp_path / "ray")["executor"].values()
    assert len(account["workers"]) == 2 and account["duplicates_dropped"] == 0
    frame = bench.load_results(tmp_path / "ray")
    assert set(frame.worker) == {w["worker"] for w in account["workers"]}  # both workers ran cells


def _kill_one_worker_when_cells_land(run_dir: Path, seen: dict, stop: threading.Event) -> None:
    """Poll the store: once a few cells are committed, SIGKILL one worker process named in its meta."""
    while not stop.wait(0.02):
        try:
            with sqlite3.connect(run_dir / "results.sqlite", timeout=1) as db:
                done = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
                row = db.execute("SELECT value FROM meta WHERE key = 'executor'").fetchone()
        except sqlite3.Error:
            continue
        workers = [w for run in json.loads(row[0]).values() for w in run["workers"]] if row else []
        if done >= 2 and len(workers) == 2:
            os.kill(workers[0]["pid"], signal.SIGKILL)
            seen.update(done=done, pid=workers[0]["pid"])
            return


def kill_a_worker_mid_run(config, local: Path, output: Path) -> None:
    """Run on Ray while a worker is SIGKILLed after the first cells land; the store must equal the local one."""
    seen: dict = {}
    stop = threading.Event()
    killer = threading.Thread(target=_kill_one_worker_when_cells_land, args=(output, seen, stop))
    killer.start()
    try:
        summary = run(on_ray(config, output), progress=False)
    finally:
        stop.set()
        killer.join()
    total = config.cell_count
    assert "done" in seen and 2 <= seen["done"] < total, seen  # killed mid-run
    assert summary.ran == total and summary.failed == 0
    assert_same_store(local, output)
    (account,) = meta(output)["executor"].values()
    assert account["workers_lost"] == 1 and account["batches_retried"] >= 1
    # a replacement was started; it joins the account if it loaded the model before the others finished
    assert seen["pid"] in {w["pid"] for w in account["workers"]} and len(account["workers"]) in (2, 3)
    frame = bench.load_results(output)
    assert frame.cell_id.is_unique and len(frame) == total


def test_a_worker_killed_mid_run_loses_nothing_and_runs_nothing_twice(cluster, analytic, tmp_path):
    config, local = analytic
    kill_a_worker_mid_run(config, local, tmp_path / "ray")


def test_a_killed_driver_resumes_from_the_store(cluster, analytic, tmp_path):
    """The driver (a `bench run --address` process) is killed mid-run; the next run finishes the rest."""
    _, local = analytic
    path = write_config(tmp_path / "b.yaml", **ANALYTIC, output=str(tmp_path / "ray"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = subprocess.Popen(
        [sys.executable, "-m", "bench.cli", "run", str(path), "--address", cluster, "--no-progress", "--no-report"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    done = 0
    try:
        deadline = time.monotonic() + 300
        while done < 4 and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
            try:
                with sqlite3.connect(tmp_path / "ray" / "results.sqlite", timeout=1) as db:
                    done = db.execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            except sqlite3.Error:
                continue
    finally:
        driver.send_signal(signal.SIGKILL)
        _, err = driver.communicate(timeout=60)
    assert driver.returncode == -signal.SIGKILL, err[-2000:]
    resumed = run(on_ray(load_config(path), tmp_path / "ray"), progress=False)
    assert 4 <= resumed.skipped < 36 and resumed.skipped + resumed.ran == 36, resumed
    assert_same_store(local, tmp_path / "ray")


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    """A tiny random Stable Diffusion benchmark and its local run.

    On a CPU, float sums depend on the intra-op thread count: a worker computes with its CPU share (1
    here), so the local run it must equal bit for bit uses as many threads.
    """
    root = tmp_path_factory.mktemp("sd")
    model = {"arch": "tiny", "weights": "random", "seed": 0, "device": "cpu"}
    config = load_config(
        write_config(
            root / "sd.yaml",
            model=model,
            prompts=["a photo of a cat"],
            seeds=[1, 2, 3, 4],
            steps=[3],
            size=[64, 64],
            batch_size=2,
            samplers=["Euler a", "DPM++ 2M Karras", "DDIM", "UniPC"],
        )
    )
    with torch_threads(1):
        run(config, progress=False)
    return config, config.output


def test_tiny_random_sd_on_ray_equals_the_local_run(cluster, tiny_sd, tmp_path):
    config, local = tiny_sd
    summary = run(on_ray(config, tmp_path / "ray"), progress=False)
    assert summary.ran == 16 and summary.failed == 0
    assert_same_store(local, tmp_path / "ray")
    assert any("random weights" in w for w in meta(tmp_path / "ray")["warnings"])


def test_tiny_random_sd_with_a_worker_killed_mid_run(cluster, tiny_sd, tmp_path):
    config, local = tiny_sd
    kill_a_worker_mid_run(config, local, tmp_path / "ray")
