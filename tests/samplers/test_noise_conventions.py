"""Noise conventions, bit for bit against implementations written here from each tool's documented behaviour."""

from __future__ import annotations

import dataclasses
import hashlib
import math

import pytest
import torch
import torchsde
from sampler_helpers import make_task

import samplers
from samplers.noise_conventions import (
    CONVENTIONS,
    comfy_batch_noise,
    full_denoise_scale,
    get,
    unit_noise,
)
from samplers.schedules import sd_alphas_cumprod

pytestmark = pytest.mark.filterwarnings("ignore:Should have:UserWarning")  # torchsde clamps float32 ends

SHAPE = (4, 8, 8)
SEEDS = (11, 12, 13)
SIGMA_MAX = float(((1 - sd_alphas_cumprod()[-1]) / sd_alphas_cumprod()[-1]) ** 0.5)


def cpu_randn(seed: int, shape, draws: int = 1) -> list[torch.Tensor]:
    """`draws` successive torch.randn(shape) from a CPU generator seeded with `seed`."""
    g = torch.Generator()
    g.manual_seed(seed)
    return [torch.randn(shape, generator=g) for _ in range(draws)]


def sha_seed(seed: int, purpose: str) -> int:
    """samplerbench's documented derived seed: the first 8 bytes of sha256("purpose:seed"), little endian, >> 1."""
    return int.from_bytes(hashlib.sha256(f"{purpose}:{seed}".encode()).digest()[:8], "little") >> 1


def test_one_image_starts_from_the_same_unit_noise_in_every_convention():
    for seed in SEEDS:
        assert torch.equal(unit_noise(seed, SHAPE), cpu_randn(seed, SHAPE)[0])
        assert torch.equal(unit_noise(seed, SHAPE), cpu_randn(seed, (1, *SHAPE))[0][0])  # A1111, ComfyUI batch 1


def test_a_comfyui_batch_is_slices_of_one_stream():
    batch = comfy_batch_noise(5, 4, SHAPE)
    stream = torch.randn(4 * math.prod(SHAPE), generator=torch.Generator().manual_seed(5))
    assert torch.equal(batch.flatten(), stream)
    assert torch.equal(batch[0], unit_noise(5, SHAPE))  # image 0 is the cell of seed 5
    assert not torch.equal(batch[1], unit_noise(6, SHAPE))  # image 1 is no cell's noise


def test_comfyui_scales_a_full_denoise_by_sqrt_one_plus_sigma_squared():
    noise = unit_noise(1, SHAPE)
    top = torch.tensor(SIGMA_MAX, dtype=torch.float32)
    expected = noise * torch.sqrt(1 + top * top)
    assert torch.equal(get("comfyui").start(noise, top, SIGMA_MAX), expected)
    assert abs(full_denoise_scale(SIGMA_MAX, SIGMA_MAX) / SIGMA_MAX - 1.00234) < 1e-5  # the factor
    lower = torch.tensor(9.0)  # a schedule that starts below the top (ddim_uniform): sigma itself
    assert torch.equal(get("comfyui").start(noise, lower, SIGMA_MAX), noise * lower)
    for name in ("samplerbench", "a1111"):
        assert torch.equal(CONVENTIONS[name].start(noise, top, SIGMA_MAX), noise * top)


def test_ancestral_noise_per_convention():
    like = torch.zeros((len(SEEDS), *SHAPE))
    steps = 4
    samplers_ = {name: c.ancestral(like, SEEDS) for name, c in CONVENTIONS.items()}
    top, low = torch.tensor(SIGMA_MAX), torch.tensor(1.0)  # the levels do not matter to these streams
    drawn = {name: [sampler(top, low) for _ in range(steps)] for name, sampler in samplers_.items()}
    for i, seed in enumerate(SEEDS):
        ours = cpu_randn(sha_seed(seed, "ancestral"), SHAPE, steps)
        comfy = cpu_randn(seed, (1, *SHAPE), steps)  # the seed's own generator, one batch-shaped draw per step
        a1111 = cpu_randn(seed, SHAPE, steps + 1)[1:]  # the starting noise's generator, going on
        for step in range(steps):
            assert torch.equal(drawn["samplerbench"][step][i], ours[step])
            assert torch.equal(drawn["comfyui"][step][i], comfy[step][0])
            assert torch.equal(drawn["a1111"][step][i], a1111[step])
        assert torch.equal(drawn["comfyui"][0][i], unit_noise(seed, SHAPE))  # on the CPU it replays the start


def _k_diffusion():
    from samplers.kdiffusion import _import_k_diffusion

    return _import_k_diffusion()


def _brownian_step(tree, sigma, sigma_next) -> torch.Tensor:
    """A Brownian increment from sigma down to sigma_next, divided by sqrt(|dt|) (unit variance)."""
    lo, hi = min(sigma, sigma_next), max(sigma, sigma_next)
    sign = 1.0 if sigma_next > sigma else -1.0
    return tree(lo, hi) * sign / (hi - lo).abs().sqrt()


@pytest.mark.parametrize("name", ["samplerbench", "comfyui", "a1111"])
def test_brownian_noise_per_convention(name):
    sigmas = torch.tensor([SIGMA_MAX, 3.0, 0.5, 0.03, 0.0], dtype=torch.float32)
    like = torch.zeros((len(SEEDS), *SHAPE))
    sampler = CONVENTIONS[name].brownian(_k_diffusion(), like, sigmas, SEEDS)
    lo, hi = sigmas[sigmas > 0].min(), sigmas.max()
    for i, seed in enumerate(SEEDS):
        if name == "comfyui":  # one tree per [1, C, h, w] batch, seeded with the seed
            tree = torchsde.BrownianTree(lo, torch.zeros((1, *SHAPE)), hi, entropy=seed)
        else:  # one tree per image
            entropy = sha_seed(seed, "brownian") if name == "samplerbench" else seed
            tree = torchsde.BrownianTree(lo, torch.zeros(SHAPE), hi, entropy=entropy)
        for s, n in zip(sigmas[:-2], sigmas[1:-1]):
            got = sampler(s, n)[i]
            assert torch.equal(got, _brownian_step(tree, s, n).reshape(SHAPE)), (name, float(s))


def test_the_default_convention_keeps_todays_images(model, one_thread):
    """samplerbench's convention is what the family ran before conventions existed (cell ids unchanged)."""
    for name in ("Euler a", "DPM++ SDE Karras", "DPM++ 2M Karras"):
        spec = samplers.resolve(name)
        task = make_task(model, SEEDS)
        explicit = dataclasses.replace(make_task(model, SEEDS), noise_convention="samplerbench")
        assert torch.equal(samplers.sample(spec, task), samplers.sample(spec, explicit))


def test_euler_ancestral_under_comfyui_equals_a_loop_written_from_its_convention(model, one_thread):
    """Euler ancestral (Karras et al. 2022 Alg. 2 with ancestral steps), started and noised as ComfyUI does."""
    k_diffusion = _k_diffusion()
    spec = samplers.resolve("Euler a")
    task = dataclasses.replace(make_task(model, SEEDS[:1], steps=5), noise_convention="comfyui")
    got = samplers.sample(spec, task)

    denoiser = k_diffusion.external.DiscreteEpsDDPMDenoiser(_Eps(task.eps), task.alphas_cumprod, quantize=False)
    sigmas = denoiser.get_sigmas(5).to(torch.float32)
    x = task.noise * torch.sqrt(1 + sigmas[0] ** 2)
    generator = torch.Generator().manual_seed(SEEDS[0])
    for sigma, sigma_next in zip(sigmas[:-1], sigmas[1:]):
        denoised = denoiser(x, sigma * x.new_ones([1]))
        up = torch.minimum(sigma_next, (sigma_next**2 * (sigma**2 - sigma_next**2) / sigma**2) ** 0.5)
        down = (sigma_next**2 - up**2) ** 0.5
        x = x + (x - denoised) / sigma * (down - sigma)
        if sigma_next > 0:
            x = x + torch.randn((1, *x.shape[1:]), generator=generator) * up
    assert torch.allclose(got, x, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got, samplers.sample(spec, make_task(model, SEEDS[:1], steps=5)), atol=1e-3)


class _Eps(torch.nn.Module):
    def __init__(self, eps) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, x, t, **_):
        return self.eps(x, t)


def test_unknown_convention_is_refused():
    with pytest.raises(ValueError, match="known: samplerbench, comfyui, a1111"):
        get("gpu")
