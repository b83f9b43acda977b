"""Helpers for the run-spine tests: tiny benchmark files and a test sampler family.

The test family ("test:") is registered through the public registry, as a researcher would add a
sampler: it wraps k-diffusion's Euler and can misbehave on purpose (NaN for one seed, slow, record).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

import samplers
from samplers.base import SamplerSpec

RECORDED: list[Any] = []  # SampleTasks seen by the recording sampler


def write_config(path: Path, **overrides: Any) -> Path:
    data: dict[str, Any] = {
        "name": "tiny",
        "prompts": ["a red circle", "a blue square on yellow"],
        "seeds": [1, 2, 3],
        "samplers": ["Euler", "Euler a"],
        "steps": [2, 3],
        "size": [8, 8],
        "batch_size": 2,
        "output": str(path.parent / "run"),
    }
    data.update(overrides)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _euler(spec: SamplerSpec, task) -> Any:
    return samplers.sample(samplers.resolve("Euler"), task)


def _nan_on_seed_2(spec: SamplerSpec, task) -> Any:
    out = _euler(spec, task)
    for i, seed in enumerate(task.seeds):
        if seed == 2:
            out[i] = float("nan")
    return out


def _raises(spec: SamplerSpec, task) -> Any:
    raise RuntimeError("deliberate failure in a test sampler")


def _slow(spec: SamplerSpec, task) -> Any:
    time.sleep(0.2)
    return _euler(spec, task)


def _record(spec: SamplerSpec, task) -> Any:
    RECORDED.append(task)
    return _euler(spec, task)


ADAPTERS = {"nan2": _nan_on_seed_2, "raises": _raises, "slow": _slow, "record": _record}


def register_test_family() -> None:
    """Idempotently add `test:<name>/normal` samplers, one per misbehaviour."""
    if "test" not in samplers.FAMILIES:
        samplers.FAMILIES.add("test", lambda spec, task: ADAPTERS[spec.algorithm](spec, task))
    for name in ADAPTERS:
        spec = SamplerSpec("test", name, "normal", label=f"Test {name}")
        if spec.id not in samplers.SAMPLERS:
            samplers.SAMPLERS.add(spec.id, spec, (f"test {name}",))


def unregister_test_family() -> None:
    for name in ADAPTERS:
        spec_id = SamplerSpec("test", name, "normal").id
        if spec_id in samplers.SAMPLERS:
            samplers.SAMPLERS.remove(spec_id)
    if "test" in samplers.FAMILIES:
        samplers.FAMILIES.remove("test")
