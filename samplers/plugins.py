"""A user's own sampler: a `module:function` with k-diffusion's signature, from a benchmark file or an entry point.

    samplers: [{function: "mypkg.solvers:sample_mine", schedule: karras, label: "Mine"}]

or, for an installed package, in its pyproject.toml:

    [project.entry-points."samplerbench.samplers"]
    mine = "mypkg.solvers:sample_mine"

It registers like a built-in, in the `user` family (id `user:mypkg.solvers:sample_mine/karras`), and runs
through the k-diffusion adapter with the same fairness: the shared starting noise, every model evaluation
counted, its own noise (when it takes `noise_sampler`) from one CPU generator per image, and the
unconditional prediction when it takes `denoise_pair` (CFG++). Entry points are registered by name without
importing them (`bench --help` stays fast); their signature is checked when they first run.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from importlib.metadata import entry_points
from pathlib import Path

from samplers.algorithms import Algorithm
from samplers.base import SamplerSpec
from samplers.registry import SamplerError
from samplers.schedule_names import K_SCHEDULES
from samplers.solvers_table import Runs

GROUP = "samplerbench.samplers"
SIGNATURE = ("model", "x", "sigmas", "extra_args", "callback", "disable")
#: the user family's algorithm table: "module:function" -> its row (filled as functions are registered)
USER_ALGORITHMS: dict[str, Algorithm] = {}


def load_function(path: str, search: Path | None = None):
    """The function at `module:function` (importable, or under `search`), or SamplerError saying why."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise SamplerError(f"function {path!r} must be written module:function (e.g. mypkg.solvers:sample_mine)")
    added = search is not None and str(search) not in sys.path
    if added:
        sys.path.insert(0, str(search))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - ImportError or the module's own error: one line saying which
        raise SamplerError(
            f"cannot import {module_name!r} for {path!r}: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None
    finally:
        if added:
            sys.path.remove(str(search))
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise SamplerError(f"module {module_name!r} has no function {attr!r}")
    check_signature(path, fn)
    return fn


def check_signature(path: str, fn) -> None:
    """k-diffusion's calling convention: (model, x, sigmas, extra_args=None, callback=None, disable=None, ...)."""
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    if params[: len(SIGNATURE)] != list(SIGNATURE):
        raise SamplerError(
            f"{path!r} must take ({', '.join(SIGNATURE)}, ...) as k-diffusion's samplers do; "
            f"it takes ({', '.join(params)})"
        )


def runs(path: str) -> Runs:
    """How the adapter runs a user function: its noise and CFG++ needs read from its signature."""
    params = inspect.signature(load_function(path)).parameters
    return Runs(path, "ancestral" if "noise_sampler" in params else None, "denoise_pair" in params)


def register(path: str, label: str | None = None, search: Path | None = None, check: bool = True) -> Algorithm:
    """Register `module:function` (checked unless `check` is False) in the user family on every k schedule."""
    from samplers import catalogue

    if check:
        fn = load_function(path, search)
        stochastic = "noise_sampler" in inspect.signature(fn).parameters
    else:
        stochastic = False
    label = label or path.partition(":")[2]
    if path in USER_ALGORITHMS:
        if USER_ALGORITHMS[path].label != label:
            raise SamplerError(f"function {path!r} is already registered with label {USER_ALGORITHMS[path].label!r}")
        return USER_ALGORITHMS[path]
    algo = Algorithm(
        path,
        label,
        tuple(K_SCHEDULES),
        stochastic=lambda options: stochastic,
        default_schedule="karras",
        aliases=(label,),
        note="the user's own sampler",
    )
    try:
        catalogue.register("user", algo)
    except ValueError as exc:  # a label that another sampler already answers to
        raise SamplerError(f"label {label!r} for {path!r}: {exc}") from None
    USER_ALGORITHMS[path] = algo
    return algo


def user_sampler(path: str, schedule: str | None, label: str | None, search: Path | None = None) -> SamplerSpec:
    """The spec of the user's function on `schedule` (default karras), registered on first use."""
    from samplers import catalogue

    register(path, label, search)
    return catalogue.resolve(f"user:{path}", schedule)


def register_entry_points() -> None:
    """Every installed `samplerbench.samplers` entry point, by its name (imported when it first runs)."""
    for ep in entry_points(group=GROUP):
        register(ep.value, ep.name, check=False)
