"""A user's own sampler (samplers.plugins): from a module the test writes, through a benchmark file and the real
runner, with the built-ins' fairness; bad paths and signatures are one located line."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch
from sampler_helpers import make_task
from spine_helpers import write_config

import bench
import samplers
from bench.config import load_config
from bench.errors import ConfigError
from bench.runner import run
from samplers import plugins

pytestmark = pytest.mark.usefixtures("one_thread")

SOLVER = '''
import torch

def sample_mine(model, x, sigmas, extra_args=None, callback=None, disable=None, noise_sampler=None):
    """Euler with a little ancestral noise: enough to test the noise and NFE plumbing."""
    extra_args = {} if extra_args is None else extra_args
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **extra_args)
        x = x + (sigmas[i + 1] - sigmas[i]) * (x - denoised) / sigmas[i]
        if sigmas[i + 1] > 0:
            x = x + 0.01 * sigmas[i + 1] * noise_sampler(sigmas[i], sigmas[i + 1])
    return x

def sample_plain_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        x = x + (sigmas[i + 1] - sigmas[i]) * (x - denoised) / sigmas[i]
    return x

def bad_signature(model, x):
    return x

def sample_batch_dependent(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """Mixes the images of a batch: what `bench samplers --check` must catch."""
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in)
        x = x + (sigmas[i + 1] - sigmas[i]) * (x - denoised) / sigmas[i]
    return x + 0.1 * x.mean(dim=0, keepdim=True)
'''


@pytest.fixture
def package(tmp_path):
    """mypkg/solvers.py next to the benchmark file, as a user would write it; unregistered afterwards."""
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "solvers.py").write_text(textwrap.dedent(SOLVER))
    yield tmp_path
    for path in list(plugins.USER_ALGORITHMS):
        for spec in [s for s in samplers.SAMPLERS if s.family == "user" and s.algorithm == path]:
            samplers.SAMPLERS.remove(spec.id)
        del plugins.USER_ALGORITHMS[path]
    for name in [m for m in sys.modules if m == "mypkg" or m.startswith("mypkg.")]:
        del sys.modules[name]


def _config(package: Path, sampler) -> Path:
    return write_config(
        package / "bench.yaml",
        samplers=[sampler, "Euler"],
        prompts=["a red circle"],
        seeds=[1, 2, 3],
        steps=[4],
        metrics=["ode_error"],
    )


@pytest.mark.slow
def test_own_function_runs_like_a_builtin(package):
    config = load_config(
        _config(package, {"function": "mypkg.solvers:sample_mine", "schedule": "karras", "label": "Mine"})
    )
    spec = config.samplers[0].spec
    assert spec.id == "user:mypkg.solvers:sample_mine/karras" and spec.stochastic and spec.label == "Mine"
    assert samplers.resolve("Mine") == spec  # the label is a name, like a built-in's
    run(config, progress=False)
    frame = bench.load_results(config.output)
    mine = frame[frame["sampler_id"] == spec.id]
    assert len(mine) == 3 and (mine["status"] == "ok").all() and (mine["nfe"] == 4).all()
    assert (mine["family"] == "user").all() and mine["ode_error"].notna().all()


def test_own_function_is_batch_invariant_and_seeded(package, model):
    spec = samplers.user_sampler("mypkg.solvers:sample_mine", "karras", "Mine", package)
    batch = samplers.sample(spec, make_task(model, (3, 5, 7), steps=4))
    alone = samplers.sample(spec, make_task(model, (5,), steps=4))
    assert torch.equal(batch[1], alone[0])
    assert samplers.run(spec, make_task(model, (5,), steps=4)).nfe == (4,)
    other = samplers.sample(spec, samplers.SampleTask(*_with_seed(make_task(model, (5,), steps=4), 6)))
    assert not torch.equal(other, alone)  # its noise comes from the image's seed


def _with_seed(task, seed):
    return task.eps, task.alphas_cumprod, task.noise, task.steps, (seed,)


def test_check_catches_a_batch_dependent_function(package):
    from bench.commands.agree import analytic_tasks
    from bench.commands.samplers import check

    tasks = analytic_tasks(8)
    good = samplers.user_sampler("mypkg.solvers:sample_mine", "karras", "Mine", package)
    bad = samplers.user_sampler("mypkg.solvers:sample_batch_dependent", "karras", None, package)
    assert check(good, tasks) == "ok (NFE 3)"
    assert check(bad, tasks).startswith("failed: not batch invariant")


def test_plain_function_equals_k_diffusion_euler(package, model):
    spec = samplers.user_sampler("mypkg.solvers:sample_plain_euler", "karras", None, package)
    assert not spec.stochastic and spec.label == "sample_plain_euler"
    ours = samplers.sample(spec, make_task(model, (3,), steps=5))
    torch.testing.assert_close(ours, samplers.sample(samplers.resolve("k:euler/karras"), make_task(model, (3,), 5)))


@pytest.mark.parametrize(
    "function, words",
    [
        ("mypkg.nothere:sample_mine", ["cannot import 'mypkg.nothere'", "ModuleNotFoundError"]),
        ("mypkg.solvers:sample_yours", ["has no function 'sample_yours'"]),
        ("mypkg.solvers:bad_signature", ["must take (model, x, sigmas, extra_args, callback, disable", "(model, x)"]),
        ("mypkg.solvers.sample_mine", ["must be written module:function"]),
    ],
)
def test_bad_function_is_one_located_line(package, function, words):
    path = _config(package, {"function": function, "label": "Mine"})
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}:") and info.value.key == "samplers[0].function" and info.value.line
    assert len(message.splitlines()) == 1
    for word in words:
        assert word in message


def test_label_that_names_a_builtin_is_refused(package):
    with pytest.raises(ConfigError, match="label 'Euler'"):
        load_config(_config(package, {"function": "mypkg.solvers:sample_mine", "label": "Euler"}))


def test_entry_points_register_by_name_without_importing(package, monkeypatch):
    class EntryPoint:
        name, value = "mine-ep", "mypkg.solvers:sample_plain_euler"

    monkeypatch.setattr(plugins, "entry_points", lambda group: [EntryPoint()] if group == plugins.GROUP else [])
    plugins.register_entry_points()
    assert "mypkg" not in sys.modules
    spec = samplers.resolve("mine-ep", "exponential")
    assert spec.id == "user:mypkg.solvers:sample_plain_euler/exponential"
    monkeypatch.syspath_prepend(str(package))
    assert torch.isfinite(samplers.sample(spec, make_task(samplers_model(), (3,), 3))).all()


def samplers_model():
    from bench.models.loaders import analytic

    return analytic({})
