"""Every registered sampler on the analytic model: runs, right shape, finite, NFE recorded,
reproducible, and batch invariant (an image is bit-identical alone or in a batch)."""

from __future__ import annotations

import pytest
import torch
from sampler_helpers import SIZE, STEPS, make_task

import samplers


def _params(specs: list) -> list:
    """Every spec; the quick suite runs the first schedule of each (family, algorithm, options), the slow
    suite (CI) every other schedule too."""
    seen: set[tuple] = set()
    out = []
    for spec in specs:
        key = (spec.family, spec.algorithm, spec.options)
        marks = [pytest.mark.slow] if key in seen else []
        seen.add(key)
        out.append(pytest.param(spec, id=spec.id, marks=marks))
    return out


ALL = list(samplers.SAMPLERS)
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("spec", _params(ALL))
def test_conformance(model, spec):
    batch = make_task(model, (3, 5, 7))
    sampled = samplers.run(spec, batch)
    out = sampled.latents
    assert tuple(out.shape) == (3, 3, SIZE, SIZE) and out.dtype == torch.float32
    assert bool(torch.isfinite(out).all())
    assert out.std() > 0.05  # a denoised image, not the zero or constant tensor

    nfe = sampled.nfe
    assert len(nfe) == 3 and all(n > 0 for n in nfe)
    if spec.nfe_per_step is not None:  # first/last steps may be cheaper (Heun's Euler end) or dearer (PLMS)
        assert spec.nfe_per_step * (STEPS - 1) <= nfe[0] <= spec.nfe_per_step * STEPS + 1

    alone = samplers.run(spec, make_task(model, (5,)))
    single = alone.latents
    assert torch.equal(single[0], out[1]), "batch changed the image"
    assert alone.nfe[0] == nfe[1]
    again = samplers.sample(spec, make_task(model, (5,)))
    assert torch.equal(again, single), "the same cell twice gave two images"


@pytest.mark.parametrize("spec", _params(ALL))
def test_one_step(model, spec):
    """steps: 1 is a valid cell (and the runner's warm-up); k-diffusion's 2M/3M SDE need the adapter's help."""
    sampled = samplers.run(spec, make_task(model, (3, 5), steps=1))
    assert bool(torch.isfinite(sampled.latents).all()) and all(n >= 1 for n in sampled.nfe)


def test_one_sde_step_is_the_denoised_prediction(model):
    euler = samplers.sample(samplers.resolve("k:euler/karras"), make_task(model, (3,), steps=1))
    for name in ("k:dpmpp_2m_sde/karras", "k:dpmpp_3m_sde/karras"):
        out = samplers.sample(samplers.resolve(name), make_task(model, (3,), steps=1))
        torch.testing.assert_close(out, euler, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("spec", _params([s for s in ALL if s.stochastic]))
def test_stochastic_samplers_use_the_seed(model, spec):
    """Same starting noise, another seed: a stochastic sampler's own noise must change the image."""
    # SA-Solver adds noise only for 200 <= t <= 800: give every sampler steps there (linear_quadratic spends
    # its first half near the top: at 10 steps its only step below t = 800 ends at 0, so paper:sa_solver gets 20)
    steps = 20 if spec.algorithm.startswith("sa_solver") else 10
    a = samplers.sample(spec, make_task(model, (5,), steps))
    other = make_task(model, (6,), steps)
    b = samplers.sample(
        spec,
        samplers.SampleTask(
            other.eps,
            other.alphas_cumprod,
            make_task(model, (5,)).noise,
            steps,
            (6,),
            eps_single=other.eps_single,
            eps_pair=other.eps_pair,
        ),
    )
    assert not torch.equal(a, b)


@pytest.mark.slow
@pytest.mark.parametrize("spec", _params(ALL))
def test_batch_of_eight(model, spec):
    seeds = tuple(range(10, 18))
    out = samplers.sample(spec, make_task(model, seeds, steps=5))
    for i in (0, 3, 7):
        assert torch.equal(samplers.sample(spec, make_task(model, (seeds[i],), steps=5))[0], out[i])
