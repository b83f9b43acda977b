"""The Ray actor: one loaded model and its `ModelSession`, running the batches the driver sends.

It never writes the store: each batch comes back as plain data (`plain_outcome`: numpy latents and
uint8 image, times, NFE, peak memory), with the worker's host and device, and the driver commits it.
The class is plain Python; the executor wraps it with `ray.remote` and the resources of one worker.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any


def plain_outcome(outcome: Any) -> dict[str, Any]:
    """A `bench.session.CellOutcome` as plain data for the trip to the driver (the cell travels by id)."""
    latents, image = outcome.latents, outcome.image
    return {
        "cell_id": outcome.cell.id,
        "status": outcome.status,
        "error": outcome.error,
        "batch_size": outcome.batch_size,
        "nfe": None if outcome.nfe is None else int(outcome.nfe),
        "times": dict(outcome.times),
        "sample_repeats": list(outcome.sample_repeats),
        "peak_mem": dict(outcome.peak_mem),
        "latents": None if latents is None else latents.numpy(),
        "image": image,
    }


def device_label(device: Any, gpu_ids: list) -> str:
    """The device as the cluster knows it: "cuda:3" for Ray's GPU 3 (every actor sees its own GPU as
    cuda:0), else the torch device."""
    if str(device).startswith("cuda") and gpu_ids:
        return "cuda:" + ",".join(str(g) for g in gpu_ids)
    return str(device)


class BatchWorker:
    """One actor per GPU (or per CPU share): weights load once, prompts are encoded once, warm-ups
    follow the local rules (`ModelSession`)."""

    def __init__(self, threads: int | None = None) -> None:
        import torch

        if threads:  # a CPU worker computes with its CPU share (the count a run's environment records)
            torch.set_num_threads(threads)
        self.spec: Any = None
        self.model: Any = None
        self.session: Any = None
        self.default_threads = torch.get_num_threads()

    def pid(self) -> int:
        return os.getpid()

    def load(self, config: Any, spec: Any) -> dict[str, Any]:
        """Load `spec` (kept when it is already loaded) and describe this worker; a config error comes
        back as {"error": message} so the driver reports it as the local runner would."""
        import torch

        from bench.errors import UserError
        from bench.runner import load_for
        from bench.session import ModelSession

        if spec != self.spec:
            self.spec = self.model = self.session = None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
            try:
                model = load_for(config, spec)
            except UserError as exc:
                return {"error": str(exc)}
            torch.set_num_threads(getattr(model, "torch_threads", None) or self.default_threads)
            self.spec, self.model, self.session = spec, model, ModelSession(model)
        return self.describe()

    def describe(self) -> dict[str, Any]:
        """Host, device and environment of this worker with its model (what `bench check` compares)."""
        import ray

        from bench import environment
        from bench.runner import _model_environment, model_warnings

        model = self.model
        env = {**environment.collect(model.device, Path.cwd()), **_model_environment(model)}
        host = socket.gethostname()
        device = device_label(model.device, ray.get_gpu_ids())
        label = f"{host}/{device}" if device.startswith("cuda") else f"{host}/{device} (pid {os.getpid()})"
        return {
            "worker": label,
            "host": host,
            "pid": os.getpid(),
            "device": device,
            "device_type": str(model.device).split(":")[0],
            "device_name": env.get("device_name"),
            "identity": model.identity(),
            "random_weights": bool(getattr(model, "random_weights", False)),
            "torch_threads": getattr(model, "torch_threads", None),
            "environment": env,
            "warnings": model_warnings(model),
        }

    def run_batch(self, cells: list, repeats: int) -> list[dict[str, Any]]:
        """One batch (cells equal but for the seed), as the local runner runs it."""
        return [plain_outcome(o) for o in self.session.run_batch(cells, repeats)]

    def warmups(self) -> dict:
        """(sampler id, shape) -> seconds of this worker's untimed warm-ups."""
        return dict(self.session.warmups) if self.session is not None else {}
