"""The family adapters: option tables against the libraries, pass-through, the exceptions they absorb."""

from __future__ import annotations

import inspect
import math

import pytest
import torch
from sampler_helpers import make_task

import samplers
from samplers import diffusers_schedulers as ds
from samplers.diffusers_table import DIFFUSERS_ALGORITHMS, EDM, SD_CONFIG
from samplers.k_table import K_ALGORITHMS, K_FUNCTIONS
from samplers.kdiffusion import _import_k_diffusion

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_13_k_diffusion_functions():
    k = _import_k_diffusion()
    assert len(K_FUNCTIONS) == 13
    for name in K_FUNCTIONS:
        assert callable(getattr(k.sampling, f"sample_{name}"))


@pytest.mark.parametrize("key", sorted(K_ALGORITHMS))
def test_k_options_match_the_function_signatures(key):
    algo = K_ALGORITHMS[key]
    params = inspect.signature(getattr(_import_k_diffusion().sampling, f"sample_{algo.function}")).parameters
    for name, option in algo.options.items():
        if option.target == "adapter":
            continue
        assert name in params, f"{algo.function} takes no {name}"
        assert params[name].default == option.default, name


@pytest.mark.parametrize("key", sorted(DIFFUSERS_ALGORITHMS))
def test_diffusers_options_match_the_class(key):
    algo = DIFFUSERS_ALGORITHMS[key]
    cls = ds.scheduler_class(algo.function)
    init, step = inspect.signature(cls.__init__).parameters, inspect.signature(cls.step).parameters
    for name, option in algo.options.items():
        params = init if option.target == "config" else step
        assert name in params, f"{cls.__name__} takes no {name} ({option.target})"
        expected = SD_CONFIG.get(name, params[name].default) if option.target == "config" else params[name].default
        assert option.default == expected, name


def test_ancestral_eta_zero_is_euler(model):
    euler = samplers.sample(samplers.resolve("Euler"), make_task(model, (1, 2), 6))
    eta0 = samplers.sample(samplers.resolve("Euler a", None, {"eta": 0}), make_task(model, (1, 2), 6))
    assert torch.equal(euler, eta0)
    ancestral = samplers.sample(samplers.resolve("Euler a"), make_task(model, (1, 2), 6))
    assert not torch.allclose(euler, ancestral)


def test_options_reach_the_libraries(model):
    def run(name, options):
        return samplers.sample(samplers.resolve(name, None, options), make_task(model, (1,), 6))

    assert not torch.equal(run("LMS", {"order": 1}), run("LMS", {}))
    assert torch.equal(run("LMS", {"order": 1}), run("Euler", {}))  # first-order linear multistep is Euler
    assert not torch.equal(run("DDIM", {"eta": 1.0}), run("DDIM", {}))
    assert not torch.equal(run("DPMSolverMultistepScheduler", {"solver_order": 3}), run("DPMSolverMultistep", {}))


def test_dpm_fast_spends_steps_evaluations(model):
    for steps in (2, 5, 9):
        task = make_task(model, (1,), steps)
        samplers.sample(samplers.resolve("DPM fast"), task)
        assert task.eps.calls == steps


def test_dpm_adaptive_ignores_steps_and_counts_per_image(model):
    spec = samplers.resolve("DPM adaptive", None, {"eta": 0})
    few, many = make_task(model, (1, 2), 3), make_task(model, (1, 2), 30)
    a, b = samplers.run(spec, few), samplers.run(spec, many)
    assert torch.equal(a.latents, b.latents)
    assert a.nfe == b.nfe and min(a.nfe) > 3
    assert few.eps_single.calls == sum(a.nfe) and few.eps.calls == 0  # ran image by image
    assert samplers.runs_one_by_one(spec) and not samplers.runs_one_by_one(samplers.resolve("Euler"))
    bare = make_task(model, (1, 2), 3)
    with pytest.raises(ValueError, match="eps_single"):
        samplers.sample(spec, samplers.SampleTask(bare.eps, bare.alphas_cumprod, bare.noise, 3, (1, 2)))


def test_churn_is_seeded_per_image_and_leaves_the_global_generator(model):
    spec = samplers.resolve("Euler", None, {"s_churn": 1.0})
    assert spec.stochastic and samplers.runs_one_by_one(spec)
    state = torch.get_rng_state()
    batch = make_task(model, (3, 4), 5)
    sampled = samplers.run(spec, batch)
    out = sampled.latents
    assert torch.equal(torch.get_rng_state(), state)
    assert sampled.nfe == (5, 5)
    alone = samplers.sample(spec, make_task(model, (4,), 5))
    assert torch.equal(alone[0], out[1])
    plain = samplers.sample(samplers.resolve("Euler"), make_task(model, (3,), 5))
    assert not torch.equal(plain[0], out[0])
    assert torch.equal(torch.get_rng_state(), state)  # euler draws randn_like even without churn


def test_discarding_the_next_to_last_sigma_changes_dpm2(model):
    kept = samplers.resolve("DPM2", None, {"discard_next_to_last_sigma": False})
    a = samplers.sample(samplers.resolve("DPM2"), make_task(model, (1,), 5))
    b = samplers.sample(kept, make_task(model, (1,), 5))
    assert not torch.equal(a, b)


def test_both_families_feed_the_model_the_same_first_input(model):
    """Fairness: Euler from k-diffusion and from diffusers see the same DDPM-scaled x_T at t = 999."""
    seen = {}
    for name in ("Euler", "diffusers:EulerDiscrete/linspace"):
        task = make_task(model, (1,), 4)
        inputs = []

        def recording(x, t, eps=task.eps, inputs=inputs):
            inputs.append((x.clone(), t.clone()))
            return eps(x, t)

        recorded = samplers.SampleTask(recording, task.alphas_cumprod, task.noise, 4, (1,))
        samplers.sample(samplers.resolve(name), recorded)
        seen[name] = inputs[0]
    (xk, tk), (xd, td) = seen.values()
    assert float(tk[0]) == pytest.approx(999.0) and float(td[0]) == pytest.approx(999.0)
    sigma = math.sqrt((1 - float(model.alphas_cumprod[-1])) / float(model.alphas_cumprod[-1]))
    expected = make_task(model, (1,)).noise * sigma / math.sqrt(1 + sigma**2)
    torch.testing.assert_close(xk, expected, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(xd, expected, rtol=1e-5, atol=1e-6)


def test_diffusers_schedulers_use_the_models_own_schedule():
    sd = ds.sd_alphas_cumprod()
    assert ds.beta_config(sd)["beta_schedule"] == "scaled_linear"
    steps = torch.arange(1001, dtype=torch.float64) / 1000  # a cosine schedule (Nichol & Dhariwal 2021)
    f = torch.cos((steps + 0.008) / 1.008 * math.pi / 2) ** 2
    cosine = (f[1:] / f[0]).clamp(min=1e-4)
    assert "trained_betas" in ds.beta_config(cosine)
    for key, algo in DIFFUSERS_ALGORITHMS.items():
        spec = samplers.resolve(f"diffusers:{algo.function}/{algo.default_schedule}")
        for abar in (sd, cosine):
            config = ds.scheduler_config(spec, algo, {}, abar, (1,))
            built = ds.scheduler_class(algo.function)(**config)
            if algo.function in EDM:  # sigma-based: the model's sigma range
                sigmas = ((1 - abar) / abar) ** 0.5
                assert (built.config.sigma_min, built.config.sigma_max) == (float(sigmas[0]), float(sigmas[-1]))
                continue
            torch.testing.assert_close(built.alphas_cumprod.double(), abar, rtol=2e-5, atol=1e-7, msg=key)


def test_diffusers_loop_has_one_scheduler_per_image(model):
    spec = samplers.resolve("diffusers:DPMSolverSDE/karras")
    loop = ds.build(spec, make_task(model, (3, 4)))
    assert len(loop.schedulers) == 2 and loop.schedulers[0] is not loop.schedulers[1]
    seeds = [s.noise_sampler_seed for s in loop.schedulers]
    assert all(len(seed) == 1 for seed in seeds) and seeds[0] != seeds[1]
    ancestral = ds.build(samplers.resolve("diffusers:EulerAncestralDiscrete/linspace"), make_task(model, (3, 4)))
    first = [kw["generator"][0].initial_seed() for kw in ancestral.step_kwargs]
    assert first[0] != first[1]


def test_unipc_order_3_is_batch_invariant(model):
    """UniPC's einsum over its history rounds differently with the batch size: one scheduler per image."""
    spec = samplers.resolve("UniPC")
    seeds = tuple(range(10, 16))
    out = samplers.sample(spec, make_task(model, seeds, 6))
    for i in (0, 5):
        assert torch.equal(samplers.sample(spec, make_task(model, (seeds[i],), 6))[0], out[i])


@pytest.mark.parametrize("name", ["dpm_fast", "dpm_adaptive"])
@pytest.mark.parametrize("scheduler", ["simple", "sgm_uniform", "ddim_uniform", "beta", "linear_quadratic"])
def test_comfy_dpm_fast_and_adaptive_take_the_schedules_range(model, name, scheduler):
    """ComfyUI hands these two the schedule's first and last non-zero sigma (dpm_fast: its step count)."""
    from samplers.kdiffusion import bounds, sigmas_for

    spec = samplers.resolve(f"{name}/{scheduler}")
    task = make_task(model, (1,), 7)
    model_sigmas = ((1 - task.alphas_cumprod) / task.alphas_cumprod).double() ** 0.5
    sigmas = sigmas_for(spec, 7, model_sigmas)
    lo, hi, n = bounds(spec, 7, model_sigmas)
    assert (hi, lo, n) == (float(sigmas[0]), float(sigmas[-2]), len(sigmas) - 1)
    assert lo > float(model_sigmas[0]) * 1.01 or hi < float(model_sigmas[-1]) * 0.99  # not the model's range
    assert bounds(samplers.resolve(f"{name}/karras"), 7, model_sigmas)[:2] == (
        float(model_sigmas[0]),
        float(model_sigmas[-1]),
    )
    out = samplers.run(spec, task)
    if name == "dpm_fast":
        assert out.nfe == (n,) and (scheduler != "ddim_uniform" or n == 8)  # 7 DDIM steps are 8 here
    own = samplers.run(samplers.resolve(f"{name}/karras"), make_task(model, (1,), 7)).latents
    assert torch.isfinite(out.latents).all() and not torch.equal(out.latents, own)


def _edm_and_k_tasks(model, spec, steps, cfg=7.0):
    """The task, the EDM scheduler's sigmas, and a task whose SD-convention start is the EDM loop's start."""
    from dataclasses import replace

    from sampler_helpers import PROMPT, SIZE

    from bench.task import analytic_cells, build_task

    task = build_task(model, analytic_cells(PROMPT, SIZE, cfg, steps, (3,)))
    loop = ds.build(spec, task)
    sigmas = loop.schedulers[0].sigmas.double()
    scale = float(loop.init_noise_sigma) / float(sigmas[0])  # diffusers starts at sqrt(sigma_max^2 + 1) noise
    return task, sigmas, replace(task, noise=task.noise * scale)


@pytest.mark.parametrize(
    "edm,k_name", [("EDMEuler", "k:euler/karras"), ("EDMDPMSolverMultistep?lower_order_final=false", "k:dpmpp_2m")]
)
def test_edm_schedulers_drive_an_eps_model_as_k_diffusion_does(model, edm, k_name):
    """sigma_data 1 + v-prediction + the v the eps implies: the same steps as k-diffusion on the same sigmas."""
    from samplers.kdiffusion import sample_on

    spec = samplers.resolve(f"diffusers:{edm}")
    task, sigmas, k_task = _edm_and_k_tasks(model, spec, 12)
    assert math.isclose(float(sigmas[0]), 14.6146, rel_tol=1e-4) and sigmas[-1] == 0  # the model's range
    ours = samplers.sample(spec, task)
    k_out = sample_on(samplers.resolve(k_name), k_task, sigmas.float())
    scale = float((k_out - samplers.sample(samplers.resolve(k_name), make_task(model, (3,), 6))).abs().max())
    assert float((ours - k_out).abs().max()) < 1e-3 * scale


@pytest.mark.parametrize("edm,order", [("EDMEuler", 1.0), ("EDMDPMSolverMultistep", 2.0)])
def test_edm_schedulers_converge_to_the_ode_solution(model, edm, order):
    """CFG 1 (a smooth ODE), against its solution from the same start (k-diffusion Heun at 640 Karras steps,
    the same last step to 0): error ~ steps^-order, as the issue's protocol fits it."""
    from samplers.kdiffusion import sample_on
    from samplers.schedules import karras

    spec = samplers.resolve(f"diffusers:{edm}")
    errors = []
    for steps in (40, 80, 160):
        task, sigmas, k_task = _edm_and_k_tasks(model, spec, steps, cfg=1.0)
        fine = karras(640, float(sigmas[-2]), float(sigmas[0]), sigmas)
        exact = sample_on(samplers.resolve("k:heun/karras"), k_task, fine.float())
        errors.append(float((samplers.sample(spec, task) - exact).pow(2).mean().sqrt()))
    fitted = math.log2(errors[0] / errors[-1]) / 2
    assert abs(fitted - order) <= 0.25, (errors, fitted)
