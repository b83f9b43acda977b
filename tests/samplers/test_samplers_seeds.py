"""SEEDS (samplers/solvers_seeds.py): the noise of one Brownian path split at the stages, the one-step
distribution against the exact transition, exponential Heun as SEEDS-2, option checks, cost, and (slow) the
stochastic samplers' convergence in distribution. Orders of convergence: test_samplers_paper.py."""

from __future__ import annotations

import math

import pytest
import torch
from sampler_helpers import make_task

import samplers
from samplers.algorithms import BadOption
from samplers.solvers_common import denoise, exponential_step, lam
from samplers.solvers_multistep import _report
from samplers.solvers_seeds import noise_coefficients, phi2_weight, sample_seeds_2, sample_seeds_3

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("nodes", [(0.0, 0.5, 1.0), (0.0, 1 / 3, 2 / 3, 1.0), (0.0, 1.0, 1.0), (0.0, 0.2, 0.9, 1.0)])
@pytest.mark.parametrize("eta", [0.3, 1.0, 2.0])
def test_noise_is_one_path_with_the_exact_variance_at_every_node(nodes, eta):
    """Row m's squares sum to 1 - e^{-2 eta c_m h} (the exact transition's variance over sigma_{c_m}^2), and
    the noise at a later node n continues the path: Cov(n, m) = sigma_n sigma_m e^{-eta (c_n - c_m) h} Var_m /
    sigma_m^2, i.e. the coefficient rows agree on the shared sub-intervals up to that factor."""
    h = 0.7
    rows = noise_coefficients(nodes, h, eta)
    for m, row in enumerate(rows, start=1):
        assert sum(w * w for w in row) == pytest.approx(-math.expm1(-2 * eta * nodes[m] * h), rel=1e-12)
    for m in range(1, len(rows)):
        for n in range(m + 1, len(rows) + 1):
            shared = sum(a * b for a, b in zip(rows[n - 1], rows[m - 1]))
            expected = math.exp(-eta * (nodes[n] - nodes[m]) * h) * sum(w * w for w in rows[m - 1])
            assert shared == pytest.approx(expected, rel=1e-12)
    for j in range(len(nodes) - 1):  # a sub-interval of zero length carries no noise
        if nodes[j + 1] == nodes[j]:
            assert all(row[j] == 0 for row in rows[j:])


def test_phi2_weight_is_stable_for_small_steps():
    """z phi_2(-z) = (e^{-z} - 1 + z) / z -> z / 2 - z^2 / 6 without cancellation."""
    for z in (1e-9, 1e-5, 1e-2):
        assert phi2_weight(z) == pytest.approx(z / 2 - z * z / 6 + z**3 / 24 - z**4 / 120, rel=1e-9)
    assert phi2_weight(2.0) == pytest.approx((math.exp(-2.0) - 1 + 2.0) / 2.0, rel=1e-14)


class _Recorder:
    """A denoiser returning a constant; records every input (the stages' points)."""

    def __init__(self, value: float) -> None:
        self.value, self.inputs = value, []

    def __call__(self, x, sigma):
        self.inputs.append(x.clone())
        return torch.full_like(x, self.value)


@pytest.mark.parametrize(
    "fn,options,stages",
    [
        (sample_seeds_2, {"eta": 1.0}, (0.5,)),
        (sample_seeds_2, {"eta": 0.5, "solver_type": "phi_2", "r": 0.3}, (0.3,)),
        (sample_seeds_2, {"eta": 1.0, "solver_type": "phi_2", "r": 1.0}, (1.0,)),
        (sample_seeds_3, {"eta": 1.0}, (1 / 3, 2 / 3)),
        (sample_seeds_3, {"eta": 2.0, "s_noise": 0.5, "r_1": 0.2, "r_2": 0.6}, (0.2, 0.6)),
    ],
)
def test_one_step_is_the_exact_transition_in_distribution(fn, options, stages):
    """With a constant denoiser c the exact SDE step from sigma to sigma_next is Gaussian with mean
    e^{-h_eta} x + (1 - e^{-h_eta}) c and variance s_noise^2 sigma_next^2 (1 - e^{-2 eta h}); every stage
    point likewise at its own sigma, and the result continues the stage's path (their covariance). Measured
    over 4 x 128 x 128 draws: 2% is about 7 standard errors of a variance, the means' bounds about 10."""
    eta, s_noise = options["eta"], options.get("s_noise", 1.0)
    sigma, sigma_next, c = 2.0, 1.2, 0.3
    h = math.log(sigma / sigma_next)
    x = torch.full((4, 1, 128, 128), 0.8, dtype=torch.float64)
    torch.manual_seed(0)
    model = _Recorder(c)
    out = fn(model, x, torch.tensor([sigma, sigma_next], dtype=torch.float64), disable=True, **options)
    assert len(model.inputs) == 1 + len(stages)
    points = [*model.inputs[1:], out]
    for frac, point in zip((*stages, 1.0), points):
        decay = math.exp(-(1 + eta) * frac * h)
        mean = decay * 0.8 + (1 - decay) * c
        variance = (s_noise * sigma * math.exp(-frac * h)) ** 2 * -math.expm1(-2 * eta * frac * h)
        assert float(point.mean()) == pytest.approx(mean, abs=10 * math.sqrt(variance / point.numel()))
        assert float(point.var()) == pytest.approx(variance, rel=0.02), frac
    for frac, point in zip(stages, points):  # the result continues each stage's Brownian path
        sigma_c = sigma * math.exp(-frac * h)
        var_c = (s_noise * sigma_c) ** 2 * -math.expm1(-2 * eta * frac * h)
        expected = sigma_next / sigma_c * math.exp(-eta * (1 - frac) * h) * var_c
        covariance = float(((point - point.mean()) * (out - out.mean())).mean())
        assert covariance == pytest.approx(expected, rel=0.03), frac


def _old_exp_heun_2_x0(model, x, sigmas, extra_args=None, callback=None, disable=None):
    """exp_heun_2_x0 as it was written before it ran as SEEDS-2: the independent reference."""
    extra_args = {} if extra_args is None else extra_args
    for i in range(len(sigmas) - 1):
        denoised = denoise(model, x, sigmas[i], extra_args)
        _report(callback, x, i, sigmas, denoised)
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        if sigma_next == 0:
            x = denoised
            continue
        predicted = exponential_step(x, sigma, sigma_next, denoised)
        at_end = denoise(model, predicted, sigmas[i + 1], extra_args)
        x = exponential_step(x, sigma, sigma_next, denoised, [(lam(sigma_next), at_end)])
    return x


def test_exp_heun_2_x0_is_the_exponential_trapezoidal_rule(model, monkeypatch):
    """Run as SEEDS-2 (phi_2, r = 1, eta = 0) it is the formula it had: predict with DDIM, correct with psi_1/h."""
    spec = samplers.resolve("exp_heun_2_x0/karras")
    ours = samplers.sample(spec, make_task(model, (3, 4), steps=8))
    monkeypatch.setattr("samplers.solvers_misc.sample_exp_heun_2_x0", _old_exp_heun_2_x0)
    old = samplers.sample(spec, make_task(model, (3, 4), steps=8))
    torch.testing.assert_close(ours, old, rtol=1e-5, atol=1e-5)


def test_exp_heun_2_x0_is_seeds_2_phi_2_at_r_1(model):
    """ComfyUI's documented equivalences: exp_heun_2_x0 = seeds_2 with solver_type phi_2, r 1, eta 0;
    exp_heun_2_x0_sde = the same with eta 1, s_noise 1 (the same noise draws)."""
    phi_2 = {"solver_type": "phi_2", "r": 1.0}
    pairs = [
        ("exp_heun_2_x0", {}, {**phi_2, "eta": 0.0}),
        ("exp_heun_2_x0_sde", {}, phi_2),
        ("exp_heun_2_x0_sde", {"eta": 0.5, "s_noise": 0.8}, {**phi_2, "eta": 0.5, "s_noise": 0.8}),
    ]
    for name, options, seeds_options in pairs:
        a = samplers.sample(samplers.resolve(f"{name}/karras", None, options), make_task(model, (3, 4), steps=8))
        b = samplers.sample(samplers.resolve("seeds_2/karras", None, seeds_options), make_task(model, (3, 4), steps=8))
        assert torch.equal(a, b), name


def test_seeds_draws_noise_only_when_stochastic(model):
    """eta > 0 differs from eta = 0; s_noise = 0 is the eta-ODE of the same step, deterministic (flagged so)."""
    for name in ("seeds_2", "seeds_3"):
        assert samplers.resolve(f"{name}/karras").stochastic
        assert not samplers.resolve(f"{name}/karras", None, {"eta": 0.0}).stochastic
        assert not samplers.resolve(f"{name}/karras", None, {"s_noise": 0.0}).stochastic
        ode = samplers.sample(samplers.resolve(f"{name}/karras?eta=0"), make_task(model, (3,), steps=6))
        sde = samplers.sample(samplers.resolve(f"{name}/karras"), make_task(model, (3,), steps=6))
        assert (ode - sde).abs().max() > 1e-3, name


def test_seeds_cost_two_and_three_evaluations_per_step(model):
    """The last step to sigma 0 is the denoised (one evaluation)."""
    for name, nfe in (("seeds_2", 2), ("seeds_3", 3)):
        task = make_task(model, (3,), steps=8)
        samplers.sample(samplers.resolve(f"{name}/karras"), task)
        assert task.eps.calls == nfe * 7 + 1, name
        assert samplers.resolve(f"{name}/karras").nfe_per_step == nfe


@pytest.mark.parametrize(
    "name,options",
    [
        ("seeds_2", {"r": 0.0}),
        ("seeds_2", {"r": 1.5}),
        ("seeds_2", {"solver_type": "phi_3"}),
        ("seeds_3", {"r_1": 0.7}),
        ("seeds_3", {"r_1": 0.0}),
        ("seeds_3", {"r_2": 1.0}),
    ],
)
def test_stage_fractions_are_checked_when_resolved(name, options):
    with pytest.raises(BadOption, match="r|solver_type"):
        samplers.resolve(f"{name}/karras", None, options)


def test_stage_fractions_at_their_limits_resolve():
    assert samplers.resolve("seeds_2/karras", None, {"r": 1.0}).option_dict == {"r": 1.0}
    assert samplers.resolve("seeds_3/karras", None, {"r_1": 0.1, "r_2": 0.9}).options


@pytest.mark.slow
def test_stochastic_seeds_converge_in_distribution(model):
    """At the default eta = 1 the samples' distribution converges (test_samplers_sa.py's protocol): over 64
    seeds the mean fidelity at 40 steps matches the converged probability-flow ODE's (UniPC at 80 steps),
    which 5 steps of SEEDS-2 do not. The mean's standard error is 0.05 / 8 per side."""
    import numpy as np

    from bench.commands.agree import analytic_tasks
    from bench.metrics.exact import ExactMeasures

    exact, make, seeds = ExactMeasures(model), analytic_tasks(8, "a red circle", 1.0), tuple(range(1, 65))

    def fidelity(name: str, steps: int) -> float:
        x = samplers.sample(samplers.resolve(name), make(steps, seeds)).double()
        return float(np.mean(exact.nearest(x, "a red circle", 8, 8)[0]))

    limit = fidelity("paper:uni_pc/karras", 80)
    for name in ("seeds_2/karras", "seeds_3/karras", "exp_heun_2_x0_sde/karras"):
        assert abs(fidelity(name, 40) - limit) < 0.035, name
    assert abs(fidelity("seeds_2/karras", 5) - limit) > 0.1
