"""The analytic model: exact posterior against brute force, k-diffusion round trip, batch invariance,
prompt parsing and rendering."""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys

import pytest
import torch
from torch.distributions import MultivariateNormal

from bench.errors import UserError
from bench.models.analytic import AnalyticCond, AnalyticModel, Mixture, posterior_mean, sample_mixture
from bench.models.base import DiffusionModel
from bench.models.concepts import COLOURS, SHAPES, PatternConcept, ShapeConcept, parse_prompt, render, vocabulary


def kd_abar(t: float, alphas_cumprod: torch.Tensor) -> float:
    """abar at a fractional t through k-diffusion's own interpolation (an independent implementation)."""
    from k_diffusion.external import DiscreteSchedule

    schedule = DiscreteSchedule(((1 - alphas_cumprod) / alphas_cumprod) ** 0.5, quantize=False)
    sigma = float(schedule.t_to_sigma(torch.tensor([t], dtype=torch.float64))[0])
    return 1.0 / (1.0 + sigma**2)


def brute_posterior_mean(
    x_t: torch.Tensor, abar: float, means: torch.Tensor, log_w: torch.Tensor, std: float
) -> torch.Tensor:
    """E[x0|x_t] from the full joint Gaussian of (x0, x_t) per component, then Bayes over components."""
    d = means.shape[1]
    eye = torch.eye(d, dtype=torch.float64)
    # (x0, x_t) = L (x0, e), x0 ~ N(mu, s^2 I), e ~ N(0, I)
    lin = torch.cat(
        [torch.cat([eye, torch.zeros_like(eye)], 1), torch.cat([math.sqrt(abar) * eye, math.sqrt(1 - abar) * eye], 1)]
    )
    cov = lin @ torch.block_diag(std**2 * eye, eye) @ lin.T
    s12, s22 = cov[:d, d:], cov[d:, d:]
    mean_t = (torch.cat([means, torch.zeros_like(means)], 1) @ lin.T)[:, d:]  # [K, D], every component
    log_post = log_w + MultivariateNormal(mean_t, covariance_matrix=s22).log_prob(x_t)
    cond_means = means + torch.linalg.solve(s22, (x_t - mean_t).T).T @ s12.T
    post = torch.softmax(log_post, 0)
    return (post[:, None] * cond_means).sum(0)


def test_implements_protocol_and_identity():
    model = AnalyticModel()
    assert isinstance(model, DiffusionModel)
    assert model.identity() == {"kind": "analytic", "version": 1, "components": 4, "std": 0.1, "dtype": "float32"}
    assert AnalyticModel(3, 0.2, torch.float64).identity()["dtype"] == "float64"
    assert model.latent_shape(48, 64) == (3, 48, 64)


def test_alphas_cumprod_match_diffusers_scaled_linear():
    from diffusers import DDPMScheduler

    ref = DDPMScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"
    ).alphas_cumprod.double()
    model = AnalyticModel()
    assert model.alphas_cumprod.dtype == torch.float64 and model.alphas_cumprod.shape == (1000,)
    torch.testing.assert_close(model.alphas_cumprod, ref, rtol=1e-5, atol=1e-6)


# fractional values exact in float32: k-diffusion casts t to float32
@pytest.mark.parametrize("t", [0.0, 1.5, 17.0, 250.25, 600.0, 998.75, 999.0])
def test_abar_interpolates_like_kdiffusion(t):
    model = AnalyticModel()
    abar, one_minus = model.abar(t)
    assert abar == pytest.approx(kd_abar(t, model.alphas_cumprod), rel=1e-12)
    assert abar + one_minus == pytest.approx(1.0, abs=1e-15)


@pytest.mark.parametrize("t", [0.0, 3.0, 120.5, 499.0, 777.75, 999.0])
def test_posterior_mean_matches_brute_force_random_mixture(t):
    gen = torch.Generator().manual_seed(1)
    means = torch.rand(3, 12, generator=gen, dtype=torch.float64) * 2 - 1
    log_w = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64).log()
    mixture = Mixture(means, log_w, 0.4)
    abar = kd_abar(t, AnalyticModel().alphas_cumprod)
    x0 = sample_mixture(mixture, 4, gen)
    x_t = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * torch.randn(4, 12, generator=gen, dtype=torch.float64)
    got = posterior_mean(x_t, abar, mixture)
    want = torch.stack([brute_posterior_mean(x, abar, means, log_w, 0.4) for x in x_t])
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("t", [0.0, 40.5, 500.0, 999.0])
@pytest.mark.parametrize("prompt", ["a red circle", "", "a purple elephant"])
def test_model_eps_matches_brute_force(t, prompt):
    model = AnalyticModel(components=3, std=0.3, dtype=torch.float64)
    mixture = model.mixture_for(prompt, 2, 2)
    assert mixture.means.shape == ((3 if prompt else 3 * len(vocabulary())), 12)
    abar = kd_abar(t, model.alphas_cumprod)
    gen = torch.Generator().manual_seed(7)
    x0 = sample_mixture(mixture, 3, gen)
    noise = torch.randn(3, 12, generator=gen, dtype=torch.float64)
    x_t = math.sqrt(abar) * x0 + math.sqrt(1 - abar) * noise
    x_t = x_t.reshape(3, 3, 2, 2)
    eps = model.eps(x_t, torch.full((3,), t, dtype=torch.float64), model.encode([prompt] * 3))
    x0_hat = (x_t - math.sqrt(1 - abar) * eps) / math.sqrt(abar)
    want = torch.stack(
        [brute_posterior_mean(x, abar, mixture.means, mixture.log_weights, 0.3) for x in x_t.reshape(3, 12)]
    )
    torch.testing.assert_close(x0_hat.reshape(3, 12), want, rtol=1e-8, atol=1e-9)


class _EpsWrapper(torch.nn.Module):
    def __init__(self, model: AnalyticModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x, t, cond):
        return self.model.eps(x, t, cond)


@pytest.mark.parametrize("sigma", [0.03, 0.4, 2.0, 14.0])
def test_kdiffusion_denoiser_returns_posterior_mean(sigma):
    from k_diffusion.external import DiscreteEpsDDPMDenoiser

    model = AnalyticModel(components=4, std=0.1, dtype=torch.float64)
    denoiser = DiscreteEpsDDPMDenoiser(_EpsWrapper(model), model.alphas_cumprod, quantize=False)
    prompts = ["a red circle", "", "a blue ring on yellow"]
    gen = torch.Generator().manual_seed(3)
    x0 = torch.stack([sample_mixture(model.mixture_for(p, 8, 8), 1, gen)[0] for p in prompts])
    x = (x0 + sigma * torch.randn(x0.shape, generator=gen, dtype=torch.float64)).reshape(3, 3, 8, 8)
    sigmas = torch.full((3,), sigma, dtype=torch.float64)
    denoised = denoiser(x, sigmas, cond=model.encode(prompts))
    abar = 1.0 / (1.0 + sigma**2)
    for i, p in enumerate(prompts):
        want = posterior_mean(x[i : i + 1] * math.sqrt(abar), abar, model.mixture_for(p, 8, 8))
        torch.testing.assert_close(denoised[i : i + 1], want, rtol=1e-7, atol=1e-8)


def test_float32_agrees_with_float64_and_no_nan_at_the_ends():
    m32, m64 = AnalyticModel(dtype=torch.float32), AnalyticModel(dtype=torch.float64)
    cond = m32.encode(["", "a green triangle", "a cat", ""])
    gen = torch.Generator().manual_seed(0)
    for t in (0.0, 0.5, 10.0, 500.0, 998.5, 999.0):
        for scale in (0.0, 1.0, 100.0):
            x = scale * torch.randn(4, 3, 16, 16, generator=gen, dtype=torch.float64)
            tt = torch.full((4,), t)
            e32, e64 = m32.eps(x.float(), tt, cond), m64.eps(x, tt, cond)
            assert e32.dtype == torch.float32 and e64.dtype == torch.float64
            assert torch.isfinite(e32).all() and torch.isfinite(e64).all()
            torch.testing.assert_close(e32.double(), e64, rtol=1e-5, atol=1e-5 * max(scale, 1.0))


def test_integer_timesteps_and_one_timestep_for_the_batch():
    model = AnalyticModel(dtype=torch.float64)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    cond = model.encode(["red", "blue"])
    by_row = model.eps(x, torch.tensor([250, 250]), cond)
    assert torch.equal(model.eps(x, torch.tensor(250), cond), by_row)
    assert torch.equal(model.eps(x, torch.tensor([250.0, 250.0], dtype=torch.float64), cond), by_row)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("size", [(16, 16), (5, 7)])
def test_batch_invariance_is_bit_exact(dtype, size):
    model = AnalyticModel(dtype=dtype)
    prompts = ["", "a red circle", "a purple elephant", "", "cross on black", "a red circle", "blue", ""]
    gen = torch.Generator().manual_seed(11)
    x = torch.randn(8, 3, *size, generator=gen).to(dtype)
    t = torch.tensor([0.0, 999.0, 500.5, 12.25, 300.0, 300.0, 871.0, 64.0], dtype=torch.float64)
    batch = model.eps(x, t, model.encode(prompts))
    for i in range(8):
        alone = model.eps(x[i : i + 1].clone(), t[i : i + 1], model.encode(prompts[i : i + 1]))
        assert torch.equal(batch[i : i + 1], alone), f"row {i} differs alone"
    order = [7, 3, 1, 0, 6, 5, 2, 4]
    shuffled = model.eps(x[order], t[order], model.encode([prompts[i] for i in order]))
    assert torch.equal(shuffled, batch[order])


def test_concat_cond_stacks_uncond_then_cond_rows():
    model = AnalyticModel()
    uncond = model.encode(["", "a black square"])  # a non-empty negative prompt replaces the uncond row
    cond = model.encode(["a red circle", "a cat"])
    both = model.concat_cond(uncond, cond)
    assert isinstance(both, AnalyticCond) and len(both) == 4
    assert both.rows == (None, ShapeConcept("black", "square"), ShapeConcept("red", "circle"), parse_prompt("a cat"))
    x = torch.randn(2, 3, 8, 8)
    t = torch.tensor([400.0, 400.0])
    pair = model.eps(torch.cat([x, x]), torch.cat([t, t]), both)
    assert torch.equal(pair[:2], model.eps(x, t, uncond))
    assert torch.equal(pair[2:], model.eps(x, t, cond))


def test_encode_rows_and_errors():
    model = AnalyticModel()
    cond = model.encode(["", "  ", "a red circle", "A RED CIRCLE!"], clip_skip=2)
    assert cond.rows[:2] == (None, None)
    assert cond.rows[2] == cond.rows[3] == ShapeConcept("red", "circle", "grey")
    assert model.encode(["a red circle"], clip_skip=1) == model.encode(["a red circle"], clip_skip=2)
    with pytest.raises(TypeError):
        model.encode("a red circle")
    with pytest.raises(ValueError, match="rows"):
        model.eps(torch.zeros(2, 3, 4, 4), torch.zeros(2), model.encode(["red"]))
    with pytest.raises(ValueError, match="timestep"):
        model.eps(torch.zeros(1, 3, 4, 4), torch.tensor([1000.0]), model.encode(["red"]))
    with pytest.raises(ValueError, match="shape"):
        model.eps(torch.zeros(1, 4, 4, 4), torch.zeros(1), model.encode(["red"]))


@pytest.mark.parametrize(
    "kwargs", [{"components": 0}, {"components": 2.5}, {"std": 0.0}, {"std": float("nan")}, {"dtype": torch.int64}]
)
def test_bad_parameters_are_user_errors(kwargs):
    with pytest.raises(UserError, match="analytic model"):
        AnalyticModel(**kwargs)


@pytest.mark.parametrize(
    "prompt, want",
    [
        ("a red circle", ShapeConcept("red", "circle", "grey")),
        ("a blue square on yellow", ShapeConcept("blue", "square", "yellow")),
        ("red", ShapeConcept("red", "circle", "grey")),
        ("circle", ShapeConcept("white", "circle", "grey")),
        ("Triangle, magenta", ShapeConcept("magenta", "triangle", "grey")),
        ("an orange diamond on the gray background", ShapeConcept("orange", "diamond", "grey")),
        ("a cyan ring on black", ShapeConcept("cyan", "ring", "black")),
        ("green cross on white", ShapeConcept("green", "cross", "white")),
    ],
)
def test_parse_vocabulary_prompts(prompt, want):
    assert parse_prompt(prompt) == want


@pytest.mark.parametrize(
    "prompt", ["a photo of a cat", "red blue circle", "a red car", "circle on", "a circle on a square", "the"]
)
def test_unknown_prompts_are_patterns(prompt):
    concept = parse_prompt(prompt)
    assert isinstance(concept, PatternConcept)
    assert concept == parse_prompt("  " + prompt.upper() + " ")  # case and spacing do not matter


def test_vocabulary_size_and_patterns_differ():
    assert len(COLOURS) >= 8 and len(SHAPES) >= 6
    vocab = vocabulary()
    assert len(vocab) == len(set(vocab)) == (len(COLOURS) - 1) * len(SHAPES)
    assert all(c.background == "grey" and c.colour != "grey" for c in vocab)
    a, b = render(parse_prompt("a cat"), 16, 16, 4), render(parse_prompt("a dog"), 16, 16, 4)
    assert a.shape == (4, 3, 16, 16) and not (a == b).all()
    assert a.min() >= -1 and a.max() <= 1
    assert a.std() > 0.1  # a visible pattern, not a flat colour


_HASH_SCRIPT = """
import hashlib
from bench.models.concepts import parse_prompt, render
print(hashlib.sha256(render(parse_prompt('a purple elephant in space'), 16, 24, 4).tobytes()).hexdigest())
"""


def test_unknown_prompt_is_deterministic_across_processes():
    here = hashlib.sha256(render(parse_prompt("a purple elephant in space"), 16, 24, 4).tobytes()).hexdigest()
    for salt in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": salt}
        out = subprocess.run(
            [sys.executable, "-c", _HASH_SCRIPT],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        )
        assert out.stdout.strip() == here


def test_components_vary_and_weights_are_unequal():
    model = AnalyticModel(components=4)
    mixture = model.mixture_for("a red circle", 32, 32)
    weights = mixture.log_weights.exp()
    assert weights.sum().item() == pytest.approx(1.0)
    assert len(set(weights.tolist())) == 4
    assert torch.cdist(mixture.means, mixture.means).fill_diagonal_(1e9).min() > 1.0  # distinct variants
    uncond = model.mixture_for("", 32, 32)
    assert uncond.log_weights.exp().sum().item() == pytest.approx(1.0)
    assert uncond.means.shape[0] == 4 * len(vocabulary())


def test_decode_and_a_red_circle_is_red_in_the_middle():
    model = AnalyticModel()
    means = model.mixture_for("a red circle", 32, 48).means.reshape(4, 3, 32, 48)
    images = model.decode(means.float())
    assert images.dtype == torch.uint8 and images.shape == (4, 32, 48, 3)
    assert images[0, 16, 24].tolist() == [255, 0, 0]
    assert images[0, 1, 1].tolist() == [128, 128, 128]  # grey background
    assert images[0, :, :, 1].max() == 128  # no green anywhere above the background's
    clamped = model.decode(torch.tensor([-5.0, 0.0, 5.0]).reshape(1, 3, 1, 1))
    assert clamped[0, 0, 0].tolist() == [0, 128, 255]


def test_background_colour_and_shape_area():
    img = render(parse_prompt("a black square on yellow"), 40, 40, 1)[0]
    assert img[:, 0, 0].tolist() == [1.0, 1.0, -1.0]  # yellow corner
    assert img[:, 20, 20].tolist() == [-1.0, -1.0, -1.0]  # black centre
    inside = (img[0] < 0).mean()  # red is 1 on yellow, -1 on black; the square's side is 2 * 0.85 * 0.3
    assert inside == pytest.approx((2 * 0.85 * 0.3) ** 2, abs=0.02)


def test_concept_posterior_recognises_its_own_samples():
    model = AnalyticModel()
    gen = torch.Generator().manual_seed(5)
    red = sample_mixture(model.mixture_for("a red circle", 16, 16), 6, gen)
    blue = sample_mixture(model.mixture_for("a blue square", 16, 16), 6, gen)
    cat = sample_mixture(model.mixture_for("a cat", 16, 16), 6, gen)
    assert (model.concept_posterior(red, "a red circle", 16, 16) > 0.999).all()
    assert (model.concept_posterior(blue, "a red circle", 16, 16) < 1e-3).all()
    assert (model.concept_posterior(cat.reshape(6, 3, 16, 16), "a cat", 16, 16) > 0.999).all()
    with pytest.raises(ValueError, match="empty prompt"):
        model.concept_posterior(red, "", 16, 16)


def test_concept_posterior_matches_brute_force_with_overlap():
    model = AnalyticModel(components=2, std=1.5)  # wide components: probabilities strictly inside (0, 1)
    x0 = torch.randn(3, 12, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.5
    for prompt in ("a red circle", "a cat"):
        mine = parse_prompt(prompt)
        concepts = list(vocabulary()) + ([] if mine in vocabulary() else [mine])
        eye = torch.eye(12, dtype=torch.float64) * 1.5**2
        weights = torch.tensor([2 / 3, 1 / 3], dtype=torch.float64)
        dens = []
        for c in concepts:
            means = torch.from_numpy(render(c, 2, 2, 2)).reshape(2, 12)
            dens.append(sum(w * MultivariateNormal(mu, eye).log_prob(x0).exp() for w, mu in zip(weights, means)))
        dens = torch.stack(dens)
        want = dens[concepts.index(mine)] / dens.sum(0)
        got = model.concept_posterior(x0, prompt, 2, 2)
        assert ((got > 0.001) & (got < 0.999)).any()
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-12)


def test_sample_mixture_draws_the_right_components():
    means = torch.tensor([[5.0] * 4, [-5.0] * 4], dtype=torch.float64)
    mixture = Mixture(means, torch.tensor([0.75, 0.25], dtype=torch.float64).log(), 0.5)
    x = sample_mixture(mixture, 4000, torch.Generator().manual_seed(9))
    assert x.shape == (4000, 4)
    first = x.mean(1) > 0
    assert first.double().mean().item() == pytest.approx(0.75, abs=0.03)
    assert (x[first] - 5.0).std().item() == pytest.approx(0.5, rel=0.05)
