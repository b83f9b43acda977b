"""Exact measures on the analytic model: alignment, fidelity, coverage, against independent facts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.metrics import ode_reference as ode
from bench.metrics.exact import ExactMeasures, coverage, expected_coverage
from bench.models.analytic import AnalyticModel, sample_mixture
from bench.task import starting_noise

H = W = 16
PROMPTS = ["a red circle", "a blue square on yellow", "a green triangle on black", "a cat"]


@pytest.fixture(scope="module")
def model() -> AnalyticModel:
    return AnalyticModel()


@pytest.fixture(scope="module")
def exact(model: AnalyticModel) -> ExactMeasures:
    return ExactMeasures(model)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_alignment_is_the_models_concept_posterior(model, exact, prompt) -> None:
    """Same posterior as AnalyticModel.concept_posterior (in and out of the vocabulary, patterns),
    on images where it is neither 0 nor 1: blends of the concept and another one."""
    own = model.mixture_for(prompt, H, W).means[0].reshape(3, H, W)
    other = model.mixture_for("a white diamond", H, W).means[1].reshape(3, H, W)
    blend = lambda t: (own * t + other * (1 - t))[None]  # noqa: E731
    low, high = 0.0, 1.0  # bisect (on the model's posterior) for the blend where it hesitates
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (low, mid) if model.concept_posterior(blend(mid), prompt, H, W)[0] > 0.5 else (mid, high)
    width = 4 * model.std**2 / float(((own - other) ** 2).sum())  # the logit moves ~1 per width/4
    x = torch.cat([blend(low + d * width) for d in np.linspace(-3, 3, 13)])
    expected = model.concept_posterior(x, prompt, H, W)
    got = torch.tensor(exact.alignment(x, prompt, H, W), dtype=torch.float64)
    assert torch.allclose(got, expected, atol=1e-9)
    assert ((expected > 1e-6) & (expected < 1 - 1e-6)).any()  # the blends test more than 0 and 1


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_alignment_near_one_for_references_and_near_chance_for_noise(model, exact) -> None:
    seeds = [1, 2]
    start = torch.stack([starting_noise(s, (3, H, W)) for s in seeds])
    on_refs, on_noise = [], []
    for prompt in PROMPTS:
        for cfg in (1.0, 7.0):
            ref = ode.solve_once(ode.problem_for(model, prompt, "", cfg, H, W), start.reshape(2, -1), 1e-6)[0]
            on_refs += exact.alignment(ref.reshape(2, 3, H, W), prompt, H, W)
        decoded = model.decode(start).permute(0, 3, 1, 2).double() / 127.5 - 1  # noise as an image
        on_noise += exact.alignment(decoded, prompt, H, W)
    chance = 1 / 61  # one concept among the vocabulary's 60 (+ the prompt's)
    assert min(on_refs) > 0.99
    assert np.mean(on_noise) < 3 * chance


@pytest.mark.parametrize("prompt", PROMPTS[:2] + [""])
def test_fidelity_is_about_one_for_true_samples(model, exact, prompt) -> None:
    mixture = model.mixture_for(prompt, H, W)
    x = sample_mixture(mixture, 400, torch.Generator().manual_seed(0)).reshape(400, 3, H, W)
    fidelity, components = exact.nearest(x, prompt, H, W)
    spread = 1 / np.sqrt(2 * 3 * H * W)  # std of chi_D / sqrt(D)
    assert abs(np.mean(fidelity) - 1) < 3 * spread
    assert np.std(fidelity) < 3 * spread
    means, _ = exact.nearest(mixture.means.reshape(-1, 3, H, W), prompt, H, W)
    assert max(means) < 1e-6  # a component mean itself is at distance 0 (an over-smoothed image)
    assert len(set(components)) > 1


def test_coverage_near_zero_for_exact_samples_and_its_floor(model, exact) -> None:
    prompt = "a red circle"
    weights = exact.weights(prompt, H, W)
    mixture = model.mixture_for(prompt, H, W)
    many = 3000
    x = sample_mixture(mixture, many, torch.Generator().manual_seed(1)).reshape(many, 3, H, W)
    _, reached = exact.nearest(x, prompt, H, W)
    tv = coverage(reached, weights)
    floor = expected_coverage(many, weights)
    assert tv < 0.03 and tv < 4 * floor
    assert expected_coverage(4, weights) > expected_coverage(16, weights) > floor
    collapsed = coverage([0] * 10, weights)  # every seed in the first mode
    assert collapsed == pytest.approx(1 - weights[0])
    assert collapsed > 10 * floor


def test_weights_are_the_mixtures(exact) -> None:
    weights = exact.weights("a red circle", H, W)
    assert weights.sum() == pytest.approx(1.0)
    assert list(weights) == sorted(weights, reverse=True) and weights[0] > weights[-1]
