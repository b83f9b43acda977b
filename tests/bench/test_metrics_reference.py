"""The analytic model's reference solution: the right ODE, solved to the accuracy it claims."""

from __future__ import annotations

import pytest
import torch

import samplers
from bench.guidance import GuidedEps
from bench.metrics import ode_reference as ode
from bench.models.analytic import AnalyticModel
from bench.task import starting_noise

SIZE = 8  # 3 x 8 x 8 = 192 values


def noise(seeds: list[int], size: int = SIZE) -> torch.Tensor:
    return torch.stack([starting_noise(s, (3, size, size)) for s in seeds])


def k_denoiser(model: AnalyticModel, prompt: str, negative: str, cfg: float, n: int):
    """k-diffusion's denoiser over the model's own eps, exactly as the k samplers call it."""
    from samplers.kdiffusion import _EpsModel, _import_k_diffusion

    eps = GuidedEps(model, model.encode([prompt] * n), model.encode([negative] * n), cfg)
    return _import_k_diffusion().external.DiscreteEpsDDPMDenoiser(_EpsModel(eps), model.alphas_cumprod, quantize=False)


@pytest.mark.parametrize(
    "prompt, negative, cfg",
    [("a red circle", "", 1.0), ("a blue square on yellow", "", 7.0), ("a cat", "a green ring", 4.0)],
)
def test_exact_denoiser_matches_the_models_guided_eps(prompt: str, negative: str, cfg: float) -> None:
    model = AnalyticModel(dtype=torch.float64)
    problem = ode.problem_for(model, prompt, negative, cfg, SIZE, SIZE)
    field = ode._Field(problem, torch.eye(3 * SIZE * SIZE, dtype=torch.float64))
    denoiser = k_denoiser(model, prompt, negative, cfg, 2)
    x0 = noise([5, 6]).double()
    for sigma in (14.0, 3.0, 0.5, 0.12, problem.sigma_min):
        x = x0 * sigma + 0.3
        expected = denoiser(x, torch.full((2,), sigma, dtype=torch.float64)).reshape(2, -1)
        got = torch.stack([field.denoise(row, sigma) for row in x.reshape(2, -1)])
        assert torch.allclose(got, expected, atol=1e-9, rtol=1e-9), sigma


def test_reference_range_is_the_k_samplers_sigma_range() -> None:
    model = AnalyticModel()
    problem = ode.problem_for(model, "a red circle", "", 7.0, SIZE, SIZE)
    from samplers.kdiffusion import _import_k_diffusion

    denoiser = _import_k_diffusion().external.DiscreteEpsDDPMDenoiser(
        torch.nn.Identity(), model.alphas_cumprod, quantize=False
    )
    assert problem.sigma_max == pytest.approx(float(denoiser.sigma_max), rel=1e-12)
    assert problem.sigma_min == pytest.approx(float(denoiser.sigma_min), rel=1e-12)


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
@pytest.mark.parametrize("prompt, cfg", [("a red circle", 7.0), ("a purple ring on white", 7.0)])
def test_reference_error_is_tiny_and_honest(prompt: str, cfg: float) -> None:
    """The reported error is far below any sampler's (~1e-4 at best), and a 1000x tighter solve agrees
    with the reference within 10x the reported error (the report is a bound, not a guess)."""
    model = AnalyticModel()
    problem = ode.problem_for(model, prompt, "", cfg, SIZE, SIZE)
    start = noise([1, 2]).reshape(2, -1)
    ref = ode.solve(problem, start)
    assert max(ref.errors) < 1e-6
    much_tighter, _ = ode.solve_once(problem, start, ode.RTOL / 1000)
    gap = ((much_tighter - ref.latents) ** 2).mean(dim=1).sqrt()
    assert (gap <= 10 * torch.tensor(ref.errors) + 1e-12).all(), (gap, ref.errors)


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_fine_sampler_converges_to_the_reference_in_full_space() -> None:
    """DPM++ 2M Karras on the float64 model at 16x16 (3072 values: the solve is projected) approaches
    the reference as its steps double, by about its second order."""
    size = 16
    model = AnalyticModel(dtype=torch.float64)
    start = noise([3], size)
    ref = ode.solve(ode.problem_for(model, "a green square", "", 3.0, size, size), start.reshape(1, -1))
    eps = GuidedEps(model, model.encode(["a green square"]), model.encode([""]), 3.0)
    errors = []
    for steps in (50, 100, 200):
        out = samplers.sample(
            samplers.resolve("DPM++ 2M Karras"),
            samplers.SampleTask(eps, model.alphas_cumprod, start.double(), steps, (3,)),
        )
        errors.append(float(((out.reshape(1, -1) - ref.latents) ** 2).mean().sqrt()))
    assert errors[-1] < 1e-4
    assert errors[0] / errors[1] > 3.0 and errors[1] / errors[2] > 3.0, errors


def test_guided_ode_off_the_vocabulary_is_stiff_and_flagged() -> None:
    model = AnalyticModel()
    start = noise([1]).reshape(1, -1)
    _, smooth = ode.solve_once(ode.problem_for(model, "a red circle", "", 7.0, SIZE, SIZE), start, 1e-8)
    _, stiff = ode.solve_once(ode.problem_for(model, "a purple ring on white", "", 7.0, SIZE, SIZE), start, 1e-8)
    assert not smooth[0].stiff and stiff[0].stiff
