"""The paper family (samplers/solvers_*.py): identities each algorithm must satisfy, CFG++'s unconditional
prediction, the table against the functions, and the measured order of convergence of each deterministic one."""

from __future__ import annotations

import importlib
import inspect
import math

import pytest
import torch
from sampler_helpers import make_task

import samplers
from bench.guidance import GuidedEps
from samplers.solvers_common import difference_weights, psi
from samplers.solvers_table import PAPER_ALGORITHMS, PAPER_FUNCTIONS

pytestmark = pytest.mark.usefixtures("one_thread")


def _function(name: str):
    module, _, attr = PAPER_FUNCTIONS[name].path.partition(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("name", sorted(PAPER_ALGORITHMS))
def test_table_matches_the_function(name):
    fn = _function(name)
    params = inspect.signature(fn).parameters
    assert list(params)[:6] == ["model", "x", "sigmas", "extra_args", "callback", "disable"]
    for option in PAPER_ALGORITHMS[name].options:
        assert option in params, f"{name}: option {option} is not a parameter"
        assert params[option].default == PAPER_ALGORITHMS[name].options[option].default
    assert ("noise_sampler" in params) == (PAPER_FUNCTIONS[name].noise is not None)
    assert ("denoise_pair" in params) == PAPER_FUNCTIONS[name].pair
    assert "arXiv" in fn.__doc__ or "OpenReview" in fn.__doc__ or "Hochbruck" in fn.__doc__


def test_psi_series_and_recursion_agree():
    """Below h = 0.5 psi uses its series, above the recursion: they meet; psi_1(1) = e^-1 exactly."""
    for k, (below, above) in enumerate(zip(psi(0.5 - 1e-12, 3), psi(0.5, 3))):
        assert below == pytest.approx(above, rel=1e-9), k
    assert psi(1.0, 1) == pytest.approx([1 - math.exp(-1), math.exp(-1)], rel=1e-12)


def test_difference_weights_integrate_polynomials_exactly():
    """For D linear in lambda the weights reproduce psi_1 D'; quadratic: psi_1 D' + psi_2 D''."""
    h, offsets = 0.3, [-0.25, -0.55]
    a = difference_weights(offsets, h)
    d1, d2 = 0.7, -1.3
    got = sum(w * (d1 * o + d2 * o * o / 2) for w, o in zip(a, offsets))
    p = psi(h, 2)
    assert got == pytest.approx(p[1] * d1 + p[2] * d2, rel=1e-12)


def _same_prompt_task(model, seeds, steps=6, cfg=3.0):
    """A task whose unconditional prediction equals the conditional one (negative prompt = prompt)."""
    task = make_task(model, seeds, steps)
    cond = model.encode(["a blue square on yellow"] * len(seeds))
    guided = GuidedEps(model, cond, cond, cfg)
    return samplers.SampleTask(guided, task.alphas_cumprod, task.noise, steps, seeds, eps_pair=guided.with_uncond)


@pytest.mark.parametrize(
    "cfgpp,base",
    [
        ("euler_cfg_pp", "k:euler"),
        ("euler_ancestral_cfg_pp", "k:euler_ancestral"),
        ("dpmpp_2s_ancestral_cfg_pp", "k:dpmpp_2s_ancestral"),
        ("dpmpp_2m_cfg_pp", "k:dpmpp_2m"),
        ("res_multistep_cfg_pp", "paper:res_multistep"),
        ("res_multistep_ancestral_cfg_pp", "paper:res_multistep_ancestral"),
        ("gradient_estimation_cfg_pp", "paper:gradient_estimation"),
    ],
)
def test_cfgpp_is_its_base_solver_when_uncond_equals_cond(model, cfgpp, base):
    spec, base_spec = samplers.resolve(f"{cfgpp}/karras"), samplers.resolve(base, "karras")
    ours = samplers.sample(spec, _same_prompt_task(model, (3, 4)))
    theirs = samplers.sample(base_spec, _same_prompt_task(model, (3, 4)))
    torch.testing.assert_close(ours, theirs, rtol=2e-4, atol=2e-4)


def test_cfgpp_renoises_with_the_unconditional_prediction(model):
    """With a real negative prompt CFG++ differs from its base, even at CFG 1 (where it still needs eps_u),
    and costs one evaluation per step like its base."""
    spec = samplers.resolve("euler_cfg_pp/karras")
    for cfg in (1.0, 3.0):
        task = make_task(model, (3,), steps=6)
        guided = GuidedEps(model, model.encode(["a blue square on yellow"]), model.encode([""]), cfg)
        task = samplers.SampleTask(guided, task.alphas_cumprod, task.noise, 6, (3,), eps_pair=guided.with_uncond)
        out = samplers.sample(spec, task)
        euler = samplers.sample(
            samplers.resolve("k:euler/karras"),
            samplers.SampleTask(
                GuidedEps(model, guided.cond, guided.uncond, cfg), task.alphas_cumprod, task.noise, 6, (3,)
            ),
        )
        assert (out - euler).abs().max() > 1e-2
        assert guided.calls == 6


def test_cfgpp_without_the_unconditional_prediction_says_why(model):
    task = make_task(model, (3,))
    bare = samplers.SampleTask(task.eps, task.alphas_cumprod, task.noise, task.steps, task.seeds)
    with pytest.raises(ValueError, match="unconditional prediction"):
        samplers.sample(samplers.resolve("dpmpp_2m_cfg_pp/karras"), bare)


def test_ddpm_is_ddim_eta_1(model):
    """DDPM's ancestral step with the posterior variance is DDIM with eta 1, i.e. Euler a (same noise)."""
    ddpm = samplers.sample(samplers.resolve("ddpm/karras"), make_task(model, (3, 4), steps=8))
    euler_a = samplers.sample(samplers.resolve("k:euler_ancestral", "karras"), make_task(model, (3, 4), steps=8))
    torch.testing.assert_close(ddpm, euler_a, rtol=1e-4, atol=1e-4)


def test_stochastic_variants_at_eta_0_are_their_ode_solvers(model):
    for sde, ode in (("exp_heun_2_x0_sde", "exp_heun_2_x0"), ("res_multistep_ancestral", "res_multistep")):
        a = samplers.sample(samplers.resolve(f"{sde}/karras", None, {"eta": 0.0}), make_task(model, (3,), steps=6))
        b = samplers.sample(samplers.resolve(f"{ode}/karras"), make_task(model, (3,), steps=6))
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_uni_pc_variants_differ_only_where_the_paper_says(model):
    """bh1 and bh2 differ where a single difference is used (order 1 and warm-up); at 1 step both denoise."""
    one = [
        samplers.sample(samplers.resolve(f"{n}/karras"), make_task(model, (3,), steps=1))
        for n in ("uni_pc", "uni_pc_bh2")
    ]
    assert torch.equal(one[0], one[1])
    six = [
        samplers.sample(samplers.resolve(f"{n}/karras"), make_task(model, (3,), steps=6))
        for n in ("uni_pc", "uni_pc_bh2")
    ]
    assert not torch.equal(six[0], six[1])


#: (name, expected order, why) on the analytic model, CFG 1, Karras, 40 -> 320 steps (bench.orders)
EXPECTED_ORDERS = [
    ("ipndm", 2.0, "equal-step Adams-Bashforth weights on unequal steps: 2 (4 on equal steps, paper)"),
    ("ipndm_v", 4.0, "variable-step Adams-Bashforth, 4th order"),
    ("deis", 3.0, "tAB-DEIS, polynomial order 3"),
    ("res_multistep", 2.0, "RES multistep, 2nd order"),
    ("exp_heun_2_x0", 2.0, "exponential trapezoidal rule, 2nd order"),
    ("seeds_2?eta=0", 2.0, "SEEDS-2 at eta = 0, phi_1 (DPM-Solver-2's form): 2-stage exponential RK, order 2"),
    ("seeds_2?eta=0&solver_type=phi_2", 2.0, "SEEDS-2 at eta = 0, phi_2 correction, r = 1/2: order 2"),
    ("seeds_3?eta=0", 3.0, "SEEDS-3 at eta = 0 (DPM-Solver-3, c = 1/3, 2/3): order 3"),
    ("gradient_estimation", 1.0, "gamma = 2 extrapolates the slope to the step's end: 1st order"),
    ("er_sde?noise_scale=ode", 3.0, "ER-SDE-Solver-3 with phi = sigma: the ODE, order 3"),
    ("uni_pc?order=1", 2.0, "UniP-1 + UniC: order 2"),
    ("uni_pc_bh2?order=2", 3.0, "UniP-2 + UniC: order 3"),
]


@pytest.fixture(scope="module")
def order_bench():
    from bench.orders import OrderBench

    return OrderBench()


@pytest.mark.parametrize("name,expected,why", EXPECTED_ORDERS, ids=[e[0] for e in EXPECTED_ORDERS])
def test_order_of_convergence(order_bench, name, expected, why):
    base, _, query = name.partition("?")
    measured = order_bench.measure(f"paper:{base}" + (f"?{query}" if query else ""))
    assert abs(measured.order - expected) <= 0.25, f"{name}: measured {measured.order:.2f}, expected {expected} ({why})"


def test_uni_pc_order_3_reaches_order_4_asymptotically(order_bench):
    """UniPC-3 + UniC is 4th order; at 40 steps its warm-up still shows (fitted 3.6): the last doubling is 4."""
    measured = order_bench.measure("paper:uni_pc")
    errors = list(measured.errors.values())
    assert abs(math.log2(errors[-2] / errors[-1]) - 4.0) <= 0.25


def test_restart_is_heun_plus_its_restarts(model):
    """Without restarts Restart is Heun; each restart costs restart_steps Heun steps (2 evaluations each)."""
    plain = samplers.sample(samplers.resolve("Restart", "Karras", {"restart_k": 0}), make_task(model, (3,), 8))
    heun = samplers.sample(samplers.resolve("k:heun/karras"), make_task(model, (3,), 8))
    torch.testing.assert_close(plain, heun, rtol=1e-5, atol=1e-5)
    task = make_task(model, (3,), 8)
    restarted = samplers.sample(samplers.resolve("Restart", "Karras", {"restart_k": 2, "restart_steps": 3}), task)
    assert task.eps.calls == 2 * 8 - 1 + 2 * 3 * 2
    assert not torch.equal(restarted, heun)


def test_er_sde_spans_ddim_and_ancestral(model):
    """phi = sigma^2 at first order is the ancestral (DDPM) step: Euler a with the same noise."""
    er = samplers.sample(
        samplers.resolve("er_sde/karras", None, {"noise_scale": "ancestral", "max_order": 1}),
        make_task(model, (3, 4), steps=8),
    )
    euler_a = samplers.sample(samplers.resolve("k:euler_ancestral", "karras"), make_task(model, (3, 4), steps=8))
    torch.testing.assert_close(er, euler_a, rtol=1e-4, atol=1e-4)
    ode = samplers.resolve("er_sde/karras", None, {"noise_scale": "ode"})
    assert not ode.stochastic and samplers.resolve("er_sde/karras").stochastic
