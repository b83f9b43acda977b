"""Schedule functions against their published definitions and independent implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from samplers import schedules
from samplers.kdiffusion import _import_k_diffusion, sigmas_for
from samplers.schedules import AYS_SIGMAS, SCHEDULE_FUNCTIONS

BETAS = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
ABAR = torch.cumprod(1 - BETAS, 0)
SIGMAS = ((1 - ABAR) / ABAR) ** 0.5  # SD's discrete sigmas, ascending
LO, HI = float(SIGMAS[0]), float(SIGMAS[-1])


def run(name: str, n: int) -> torch.Tensor:
    return SCHEDULE_FUNCTIONS[name](n, LO, HI, SIGMAS)


@pytest.mark.parametrize("name", sorted(SCHEDULE_FUNCTIONS))
@pytest.mark.parametrize("n", [1, 3, 10, 40])
def test_every_schedule_decreases_to_zero(name, n):
    sigmas = run(name, n)
    assert sigmas.dtype == torch.float64 and sigmas[-1] == 0
    assert bool((sigmas[:-1] > 0).all()) and bool((sigmas[1:] < sigmas[:-1]).all())
    assert float(sigmas[0]) <= HI * (1 + 1e-4)  # AYS publishes 14.615 for SD's 14.6146
    if name not in ("ddim_uniform", "beta"):  # these two follow ComfyUI in step count (tests below)
        assert len(sigmas) == n + 1


def test_karras_formula_eq5():
    n, rho = 10, 7.0
    i = np.arange(n)
    expected = (HI ** (1 / rho) + i / (n - 1) * (LO ** (1 / rho) - HI ** (1 / rho))) ** rho
    np.testing.assert_allclose(run("karras", n)[:-1].numpy(), expected, rtol=1e-12)
    assert math.isclose(float(run("karras", n)[0]), 14.6146, rel_tol=1e-4)  # SD's sigma_max
    assert math.isclose(float(run("karras", n)[-2]), 0.0292, rel_tol=1e-2)  # SD's sigma_min


@pytest.mark.parametrize(
    "name,k_name",
    [
        ("karras", "get_sigmas_karras"),
        ("exponential", "get_sigmas_exponential"),
        ("polyexponential", "get_sigmas_polyexponential"),
    ],
)
def test_matches_k_diffusion(name, k_name):
    k = _import_k_diffusion()
    expected = getattr(k.sampling, k_name)(12, LO, HI)
    np.testing.assert_allclose(run(name, 12).numpy(), expected.double().numpy(), rtol=1e-5)


def test_normal_is_the_models_own_sigmas_as_k_diffusion():
    k = _import_k_diffusion()
    denoiser = k.external.DiscreteEpsDDPMDenoiser(torch.nn.Identity(), ABAR, quantize=False)
    np.testing.assert_allclose(run("normal", 7).numpy(), denoiser.get_sigmas(7).double().numpy(), rtol=1e-6)
    np.testing.assert_allclose(run("normal", 4)[:-1].numpy(), SIGMAS[[999, 666, 333, 0]].numpy(), rtol=1e-12)


def test_sgm_uniform_drops_the_last_of_n_plus_one_timesteps():
    expected_t = np.linspace(999, 0, 6)[:-1]  # 999, 799.2, ..., 199.8
    log_s = SIGMAS.log().numpy()
    expected = np.exp(np.interp(expected_t, np.arange(1000), log_s))
    np.testing.assert_allclose(run("sgm_uniform", 5)[:-1].numpy(), expected, rtol=1e-12)


def test_simple_and_ddim_uniform_timesteps():
    np.testing.assert_array_equal(run("simple", 5)[:-1].numpy(), SIGMAS[[999, 799, 599, 399, 199]].numpy())
    np.testing.assert_array_equal(run("ddim_uniform", 5)[:-1].numpy(), SIGMAS[[801, 601, 401, 201, 1]].numpy())
    assert len(run("ddim_uniform", 7)) == 9  # 1000 // 7 = 142 leaves room for an 8th step, as in ComfyUI


def test_beta_is_beta_quantiles_of_timesteps():
    n = 10
    t = np.rint(stats.beta.ppf(1 - np.linspace(0, 1, n, endpoint=False), 0.6, 0.6) * 999).astype(int)
    np.testing.assert_array_equal(run("beta", n)[:-1].numpy(), SIGMAS[t].numpy())
    assert t[0] == 999


@pytest.mark.parametrize("n", [2, 7, 25])
def test_beta_sigma_is_diffusers_use_beta_sigmas(n):
    """A1111's "Beta" = diffusers' use_beta_sigmas (Apache-2.0, an independent implementation): quantiles in
    sigma (n >= 2: at one step diffusers takes its range from its one timestep, 0; here it is [sigma_max, 0])."""
    from diffusers import EulerDiscreteScheduler

    from samplers.diffusers_table import SD_CONFIG

    config = {k: SD_CONFIG[k] for k in ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule")}
    scheduler = EulerDiscreteScheduler(**config, use_beta_sigmas=True)  # type: ignore[arg-type]
    scheduler.set_timesteps(n)
    ours = run("beta_sigma", n)
    np.testing.assert_allclose(ours.numpy(), scheduler.sigmas.double().numpy(), rtol=2e-5, atol=0)
    quantiles = (ours[:-1] - LO) / (HI - LO)
    expected = stats.beta.ppf(1 - np.linspace(0, 1, n), 0.6, 0.6)
    np.testing.assert_allclose(quantiles.numpy(), expected, rtol=1e-9, atol=1e-12)
    assert not torch.equal(ours, run("beta", n))  # not ComfyUI's beta over timesteps


def test_kl_optimal_is_even_in_arctan_sigma():
    sigmas = run("kl_optimal", 8)[:-1].numpy()
    np.testing.assert_allclose(np.diff(np.arctan(sigmas)), (math.atan(LO) - math.atan(HI)) / 7, rtol=1e-10)
    assert math.isclose(sigmas[0], HI) and math.isclose(sigmas[-1], LO)


@pytest.mark.parametrize(
    "name,key,diffusers_key",
    [
        ("align_your_steps", "sd15", "StableDiffusionSigmas"),
        ("align_your_steps_sdxl", "sdxl", "StableDiffusionXLSigmas"),
    ],
)
def test_align_your_steps_published_values(name, key, diffusers_key):
    from diffusers.schedulers.scheduling_utils import AysSchedules

    published = AYS_SIGMAS[key]
    assert len(published) == 11 and published[0] == 14.615 and published[-1] == 0.029
    assert list(published[:10]) == pytest.approx(AysSchedules[diffusers_key][:10], abs=1e-9)  # independent copy
    ten = run(name, 10).tolist()
    assert ten[:10] == pytest.approx(published[:10], rel=1e-12) and ten[10] == 0.0
    twenty = run(name, 20).tolist()  # log-linear: every other point is a published one
    assert twenty[0:20:2] == pytest.approx(published[:10], rel=1e-12)
    assert math.log(twenty[1]) == pytest.approx((math.log(published[0]) + math.log(published[1])) / 2)


def test_align_your_steps_11_takes_the_11_published_levels_as_11_steps():
    published = AYS_SIGMAS["sd15"]
    eleven = run("align_your_steps_11", 11).tolist()
    assert len(eleven) == 12 and eleven[-1] == 0.0
    assert eleven[:11] == pytest.approx([v * HI / 14.615 for v in published], rel=1e-12)  # scaled to the model's top
    twenty_one = run("align_your_steps_11", 21).tolist()  # log-linear: every other point is a published level
    assert twenty_one[0:21:2] == pytest.approx(eleven[:11], rel=1e-12)
    ten = run("align_your_steps_11", 10)  # not the ComfyUI form (10 steps over the 11 levels, the last to 0)
    assert len(ten) == 11 and not torch.allclose(ten, run("align_your_steps", 10))


def test_discard_next_to_last_sigma():
    base = run("karras", 6)
    kept = schedules.discard_next_to_last(SCHEDULE_FUNCTIONS["karras"], 5, LO, HI, SIGMAS)
    assert len(kept) == 6 and torch.equal(kept, torch.cat([base[:-2], base[-1:]]))
    import samplers

    dpm2 = sigmas_for(samplers.resolve("DPM2"), 5, SIGMAS, discard=True)
    assert torch.equal(dpm2, kept)


@pytest.mark.parametrize("written", ["beta", "Beta", "Beta (timesteps)"])
def test_beta_as_written_in_existing_files_keeps_meaning_comfyuis_beta(written):
    """Ids are matched before labels: a benchmark file that said `Beta` keeps its cells (and cell ids)."""
    import samplers

    assert samplers.resolve("Euler", written).id == "k:euler/beta"
    assert samplers.resolve("Euler", "Beta (sigmas)").id == "k:euler/beta_sigma"
