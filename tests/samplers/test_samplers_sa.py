"""SA-Solver (samplers/solvers_sa.py): its limits (Euler, Euler a), its cost, its window, its order of
convergence, and the same algorithm as diffusers' SASolverScheduler."""

from __future__ import annotations

import math

import pytest
import torch
from sampler_helpers import make_task

import samplers

pytestmark = pytest.mark.usefixtures("one_thread")

FIRST_ORDER = {"predictor_order": 1, "corrector_order": 0}


def test_order_1_without_noise_is_euler(model):
    """tau = 0, one point, no corrector: x_t = (sigma_t / sigma_s) x_s + (1 - sigma_t / sigma_s) D, Euler's step."""
    ours = samplers.sample(
        samplers.resolve("sa_solver/karras", None, {**FIRST_ORDER, "eta": 0.0}), make_task(model, (3, 4), steps=8)
    )
    euler = samplers.sample(samplers.resolve("k:euler/karras"), make_task(model, (3, 4), steps=8))
    torch.testing.assert_close(ours, euler, rtol=1e-5, atol=1e-5)


def test_order_1_with_tau_1_everywhere_is_euler_ancestral(model):
    """tau = 1 over the whole schedule at order 1: e^{-2h} x + (1 - e^{-2h}) D + sigma_t sqrt(1 - e^{-2h}) z is
    the ancestral (DDPM) step, Euler a, drawing the same noise."""
    whole = {**FIRST_ORDER, "eta": 1.0, "sde_start_percent": 0.0, "sde_end_percent": 1.0}
    ours = samplers.sample(samplers.resolve("sa_solver/karras", None, whole), make_task(model, (3, 4), steps=8))
    euler_a = samplers.sample(samplers.resolve("k:euler_ancestral/karras"), make_task(model, (3, 4), steps=8))
    torch.testing.assert_close(ours, euler_a, rtol=1e-4, atol=1e-4)


def test_noise_only_inside_the_window(model):
    """eta = 0 or an empty window is the deterministic solver (and says so); the default window adds noise."""
    ode = samplers.resolve("sa_solver/karras", None, {"eta": 0.0})
    empty = samplers.resolve("sa_solver/karras", None, {"sde_start_percent": 0.5, "sde_end_percent": 0.5})
    assert not ode.stochastic and not empty.stochastic and samplers.resolve("sa_solver/karras").stochastic
    a = samplers.sample(ode, make_task(model, (3,), steps=8))
    b = samplers.sample(empty, make_task(model, (3,), steps=8))
    c = samplers.sample(samplers.resolve("sa_solver/karras"), make_task(model, (3,), steps=8))
    torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    assert (a - c).abs().max() > 1e-3


def test_pece_evaluates_the_corrected_point_again(model):
    """PECE: two evaluations per step but the first (no corrector yet); PEC: one."""
    for name, calls in (("sa_solver", 8), ("sa_solver_pece", 2 * 8 - 1)):
        task = make_task(model, (3,), steps=8)
        samplers.sample(samplers.resolve(f"{name}/karras", None, {"eta": 0.0}), task)
        assert task.eps.calls == calls, name


@pytest.fixture(scope="module")
def order_bench():
    from bench.orders import OrderBench

    return OrderBench()


@pytest.mark.slow
@pytest.mark.parametrize(
    "name,expected",
    [
        ("sa_solver_pece?eta=0", 4.0),  # corrector order 4, the corrected point evaluated
        ("sa_solver_pece?eta=0&predictor_order=2&corrector_order=2", 2.0),
        # PEC ends with D at the last *predicted* point, predicted at order 2 by lower_order_final: 3, not 4
        ("sa_solver?eta=0", 3.0),
    ],
)
def test_order_of_convergence(order_bench, name, expected):
    measured = order_bench.measure(f"paper:{name}")
    assert abs(measured.order - expected) <= 0.25, f"{name}: measured {measured.order:.2f}, expected {expected}"


@pytest.mark.slow
def test_without_lower_order_final_pec_reaches_order_4(order_bench):
    """Full orders to the end: PEC is 4th order; its warm-up still weighs at 40 steps, the last doubling is 4."""
    errors = list(order_bench.measure("paper:sa_solver?eta=0&lower_order_final=false").errors.values())
    assert abs(math.log2(errors[-2] / errors[-1]) - 4.0) <= 0.25


@pytest.mark.slow
@pytest.mark.parametrize("orders", [(2, 2), (3, 4)])
def test_same_algorithm_as_diffusers_sasolver(orders):
    """At tau = 0 on diffusers' own sigmas (ending at sigma_min), with its rounded timesteps, its VP start and
    its VP-scaled result, diffusers' SASolverScheduler and this SA-Solver are the same computation."""
    from bench.commands.agree import analytic_tasks
    from samplers import diffusers_schedulers as ds
    from samplers.agreement import _Rounding, _with_eps, relative
    from samplers.kdiffusion import sample_on

    p, c = orders
    task = analytic_tasks(8)(10, (1, 2))
    with ds.quiet():
        loop = ds.build(samplers.resolve(f"diffusers:SASolver/karras?predictor_order={p}&corrector_order={c}"), task)
        for scheduler in loop.schedulers:
            scheduler.tau_func = lambda t: 0
        sigmas = loop.schedulers[0].sigmas.double().cpu()
        first, last = float(sigmas[0]), float(sigmas[-1])
        theirs = ds.denoise(loop, task.eps, task.noise * (first / math.sqrt(1 + first**2)))
    spec = samplers.resolve(f"paper:sa_solver/karras?eta=0&predictor_order={p}&corrector_order={c}")
    ours = sample_on(spec, _with_eps(task, _Rounding(task.eps, every=True)), sigmas)
    assert relative(theirs, ours / math.sqrt(1 + last**2)) < 1e-5


@pytest.mark.slow
def test_stochastic_sa_solver_converges_in_distribution(model):
    """At the default eta = 1 the samples' distribution, not each sample, converges: over 64 seeds their mean
    fidelity (distance to the nearest mixture component, in units of its spread) at 40 steps matches the
    converged probability-flow ODE's (UniPC at 80 steps, pathwise exact to ~1e-8), which 5 steps do not.
    The mean's standard error is 0.05 / 8 per side; the bound is about 4 of them on the difference."""
    import numpy as np

    from bench.commands.agree import analytic_tasks
    from bench.metrics.exact import ExactMeasures

    exact, make, seeds = ExactMeasures(model), analytic_tasks(8, "a red circle", 1.0), tuple(range(1, 65))

    def fidelity(name: str, steps: int) -> float:
        x = samplers.sample(samplers.resolve(name), make(steps, seeds)).double()
        return float(np.mean(exact.nearest(x, "a red circle", 8, 8)[0]))

    limit = fidelity("paper:uni_pc/karras", 80)
    for name in ("sa_solver/karras", "sa_solver_pece/karras"):
        assert abs(fidelity(name, 40) - limit) < 0.035, name
    assert abs(fidelity("sa_solver/karras", 5) - limit) > 0.1
