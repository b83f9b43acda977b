"""The Ray executor's cost, measured side by side in one run on a local Ray (loopback, 2 CPUs by default).

Prints:
  1. wall time of one benchmark (default: benchmarks.yaml, the analytic default; --samplers N: a slice)
     run by the local executor, by Ray with 1 worker and by Ray with 2 workers, each into a fresh store;
  2. the per-batch scheduling cost: (a) the benchmark's own batches run by the worker code through an
     actor and in this process, interleaved (the median difference is what Ray adds to a batch), and an
     actor's start + model load; (b) a trivial actor call's round trip, and the round trip of an
     SD-sized batch result (4 latents 4x64x64 float32 + 4 images 512x512x3 uint8, as workers send);
  3. the driver's cost per committed cell for SD-sized images: PNG encode + write (a smooth image and an
     incompressible one bound it; a 512x512 photograph is the realistic case) and one SQLite row commit.
docs/scaling.md derives from these how throughput scales with workers and where the driver saturates.
Usage: python perf/ray.py [--config benchmarks.yaml] [--samplers N] [--cpus 2] [--calls 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# this file is named ray.py: its own folder must not shadow the ray package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


def loopback_ray(cpus: int) -> float:
    """Start a local Ray bound to 127.0.0.1; the seconds it took."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # read when ray is imported: loopback only
    import ray

    start = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    return time.perf_counter() - start


def timed_run(config, output: Path) -> float:
    from bench.runner import run

    shutil.rmtree(output, ignore_errors=True)
    start = time.perf_counter()
    summary = run(replace(config, output=output), progress=False)
    elapsed = time.perf_counter() - start
    assert summary.failed == 0 and summary.ran == summary.total, summary
    return elapsed


def run_times(config, tmp: Path, cpus: int) -> dict[str, float]:
    """{executor: wall seconds of the whole benchmark into a fresh store}, local first."""
    from bench.executors import ExecutorSettings

    warm = replace(config, axes={**config.axes, "sampler": config.axes["sampler"][:1], "seed": config.seeds[:1]})
    timed_run(warm, tmp / "warm")  # this process's imports (k-diffusion, metrics) are paid before timing
    executors = {"local": None, **{f"ray x{n}": ExecutorSettings("ray", workers=n) for n in (1, cpus)}}
    return {name: timed_run(replace(config, executor=settings), tmp / name) for name, settings in executors.items()}


def batch_overhead(config, repeats: int) -> dict[str, float]:
    """The real per-batch path through Ray against the same worker code called in this process: the same
    warmed model and batches, calls interleaved; median seconds of the difference per batch (cells out,
    outcomes back, scheduling), the batch's own time, and an actor's start + model load."""
    import ray

    from bench.executors.ray_worker import BatchWorker
    from bench.matrix import batches, expand

    start = time.perf_counter()
    remote = ray.remote(BatchWorker).options(num_cpus=1).remote(1)
    ray.get(remote.load.remote(config, config.models[0]))
    started = time.perf_counter() - start
    here = BatchWorker(1)
    here.load(config, config.models[0])
    work = list(batches(expand(config), config.batch_size))
    for cells in work:  # warm-ups (per sampler and shape) on both
        here.run_batch(cells, 1)
        ray.get(remote.run_batch.remote(cells, 1))
    extra, own = [], []
    for _ in range(repeats):
        for cells in work:
            t0 = time.perf_counter()
            here.run_batch(cells, 1)
            t1 = time.perf_counter()
            ray.get(remote.run_batch.remote(cells, 1))
            t2 = time.perf_counter()
            own.append(t1 - t0)
            extra.append((t2 - t1) - (t1 - t0))
    ray.kill(remote)
    return {
        "batch in this process": statistics.median(own),
        "Ray's extra per batch": statistics.median(extra),
        "actor start + model load": started,
    }


class Echo:
    def ping(self, payload=None):
        return payload


def round_trips(calls: int) -> dict[str, float]:
    """Median seconds of an actor call round trip: empty, and carrying one SD-sized batch result back."""
    import numpy as np
    import ray

    actor = ray.remote(Echo).options(num_cpus=0).remote()
    ray.get(actor.ping.remote())
    rng = np.random.default_rng(0)
    batch = [
        {
            "latents": rng.standard_normal((4, 64, 64), dtype=np.float32),
            "image": rng.integers(0, 256, (512, 512, 3), dtype=np.uint8),
        }
        for _ in range(4)
    ]
    batch_ref = ray.put(batch)
    out = {}
    for name, payload, n in (("empty call", None, calls), ("SD batch result (4 x 512^2)", batch_ref, calls // 10)):
        times = []
        for _ in range(n):
            start = time.perf_counter()
            ray.get(actor.ping.remote(payload))
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
    ray.kill(actor)
    return out


def _median_costs(step, n: int) -> tuple[float, float]:
    """Median (wall, CPU) seconds of `step(i)`: on a shared machine the CPU time is the steadier figure."""
    walls, cpus = [], []
    for i in range(n):
        w, c = time.perf_counter(), time.process_time()
        step(i)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def driver_costs(tmp: Path, repeats: int = 20) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds the driver spends per cell on a 512^2 image: PNG encode + write, and
    one SQLite row commit."""
    import numpy as np

    from bench.pnginfo import write_png
    from bench.store import Store

    y, x = np.mgrid[0:512, 0:512]
    smooth = np.stack([x / 2, y / 2, (x + y) / 4], axis=-1).astype(np.uint8)
    images = {
        "PNG 512^2 smooth": smooth,
        "PNG 512^2 noise": np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8),
    }
    try:  # a real photograph, 512x512 (scikit-image ships it; k-diffusion depends on scikit-image)
        from skimage.data import astronaut

        images["PNG 512^2 photo"] = astronaut()
    except ImportError:
        pass
    out = {
        name: _median_costs(lambda i, im=image: write_png(tmp / "png" / f"{i}.png", im, "parameters"), repeats)
        for name, image in images.items()
    }
    store = Store.open(tmp / "store")
    out["SQLite row commit"] = _median_costs(
        lambda i: store.write_cell(
            {"cell_id": f"c{i}", "status": "ok", "fingerprint": [0.0] * 64, "metrics": {"m": 1.0}}
        ),
        repeats * 5,
    )
    store.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "benchmarks.yaml"))
    parser.add_argument("--samplers", type=int, help="only the first N samplers of the benchmark (a slice)")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray (= the most workers)")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3, help="passes over the batches in 2a")
    args = parser.parse_args()

    from bench.config import load_config
    from bench.matrix import batches, expand

    config = load_config(args.config)
    if args.samplers:
        config = replace(config, axes={**config.axes, "sampler": config.axes["sampler"][: args.samplers]})
    n_cells = len(expand(config))
    n_batches = sum(1 for _ in batches(expand(config), config.batch_size))
    startup = loopback_ray(args.cpus)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        walls = run_times(config, tmp, args.cpus)
        trips = round_trips(args.calls)
        overhead = batch_overhead(config, args.repeats)
        driver = driver_costs(tmp)
    import ray

    ray.shutdown()
    print(
        f"benchmark: {config.name} ({n_cells} cells, {n_batches} batches of up to {config.batch_size}); "
        f"machine: {os.cpu_count()} CPUs, Ray with {args.cpus} CPUs (started in {startup:.1f} s, not counted)"
    )
    print("\n1. wall time, fresh store each (worker start, imports, model loads, warm-ups, metrics, exports)")
    for name, seconds in walls.items():
        print(f"   {name:<10} {seconds:8.2f} s   local / this = {walls['local'] / seconds:5.2f}")
    print(f"   ray x{args.cpus} / local = {walls[f'ray x{args.cpus}'] / walls['local']:.2f}")
    print(
        "\n2a. per-batch cost of the real path (BatchWorker through an actor vs in this process, interleaved, medians)"
    )
    for name, seconds in overhead.items():
        print(f"   {name:<30} {seconds * 1e3:10.3f} ms")
    print("\n2b. per-batch scheduling cost (median round trip through one actor)")
    for name, seconds in trips.items():
        print(f"   {name:<30} {seconds * 1e3:8.3f} ms")
    print("\n3. the driver's cost per committed cell (wall, and CPU time of this process)")
    for name, (wall, cpu) in driver.items():
        print(f"   {name:<30} {wall * 1e3:8.3f} ms   cpu {cpu * 1e3:8.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
