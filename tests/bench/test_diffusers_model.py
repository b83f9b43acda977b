"""The diffusers SD model behind the common interface, on the tiny random architectures (CPU, offline)."""

from __future__ import annotations

import pytest
import torch

from bench.errors import UserError
from bench.models.base import DiffusionModel
from bench.models.diffusers_model import DiffusersModel, SDCond, load_diffusers_model
from bench.models.sd_build import build_random
from bench.models.sd_configs import ARCHS
from bench.models.sd_schedule import abar_at, alphas_cumprod_from_config, log_sigmas, to_eps

PROMPT = "A photo of an astronaut riding a horse, 4k, highly-detailed!  Don't stop"


@pytest.fixture(scope="module")
def tiny() -> DiffusersModel:
    return load_diffusers_model({"arch": "tiny", "weights": "random", "seed": 0, "device": "cpu"})


@pytest.fixture(scope="module")
def tiny_xl() -> DiffusersModel:
    return load_diffusers_model({"arch": "tiny-xl", "weights": "random", "device": "cpu"})


def _k_schedule(alphas_cumprod: torch.Tensor):
    from k_diffusion.external import DiscreteSchedule

    return DiscreteSchedule(((1 - alphas_cumprod) / alphas_cumprod) ** 0.5, quantize=False)


# ---------------------------------------------------------------- build and interface


def test_tiny_builds_and_eps_has_the_latent_shape(tiny):
    assert isinstance(tiny, DiffusionModel)
    assert tiny.random_weights and tiny.identity()["random_weights"] is True
    assert tiny.alphas_cumprod.dtype == torch.float64 and tiny.alphas_cumprod.shape == (1000,)
    shape = tiny.latent_shape(64, 48)
    assert shape == (4, 8, 6)
    x = torch.randn(2, *shape)
    eps = tiny.eps(x, torch.tensor([999.0, 10.5]), tiny.encode(["a cat", "a dog"]))
    assert eps.shape == x.shape and eps.dtype == torch.float32 and torch.isfinite(eps).all()


def test_same_seed_same_weights_other_seed_other_weights():
    arch = ARCHS["tiny"]
    a, b, c = (build_random(arch, seed, torch.float32) for seed in (3, 3, 4))
    w = lambda parts: parts.unet.conv_in.weight  # noqa: E731
    assert torch.equal(w(a), w(b)) and not torch.equal(w(a), w(c))


#: parameter counts of the published checkpoints (stable-diffusion-v1-5, stable-diffusion-2-1,
#: stable-diffusion-xl-base-1.0): UNet, VAE, text encoder(s)
PUBLISHED_SIZES = {
    "sd15": (859_520_964, 83_653_863, [123_060_480]),
    "sd21": (865_910_724, 83_653_863, [340_387_840]),
    "sdxl": (2_567_463_684, 83_653_863, [123_060_480, 694_659_840]),
}


@pytest.mark.parametrize("name", PUBLISHED_SIZES)
def test_full_size_configs_have_the_published_parameter_counts(name):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    arch = ARCHS[name]
    strip = lambda cfg: {k: v for k, v in cfg.items() if not k.startswith("_")}  # noqa: E731
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    with torch.device("meta"):  # shapes only: no memory, no time
        unet = UNet2DConditionModel.from_config(strip(arch.config("unet")))
        vae = AutoencoderKL.from_config(strip(arch.config("vae")))
        texts = [
            (CLIPTextModelWithProjection if i else CLIPTextModel)(CLIPTextConfig(**cfg))
            for i, cfg in enumerate(arch.config("text_encoders"))
        ]
    assert (count(unet), count(vae), [count(t) for t in texts]) == PUBLISHED_SIZES[name]


@pytest.mark.parametrize("name", ["sd21", "sdxl"])
def test_config_folder_is_a_loadable_diffusers_layout(name, tmp_path):
    from diffusers import DiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    from bench.models.sd_build import write_config_folder

    arch = ARCHS[name]
    folder = write_config_folder(arch, tmp_path / name)
    assert DiffusionPipeline.load_config(folder)["_class_name"] == arch.pipeline
    unet = UNet2DConditionModel.load_config(folder, subfolder="unet")
    assert unet["cross_attention_dim"] == arch.unet["cross_attention_dim"]
    last = "tokenizer_2" if arch.is_xl else "tokenizer"
    assert CLIPTokenizer.from_pretrained(folder / last).pad_token == "!"  # OpenCLIP pads with "!" (id 0)


def test_alphas_cumprod_is_sd_scaled_linear(tiny):
    betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
    expected = torch.cumprod(1 - betas, 0)
    assert torch.allclose(tiny.alphas_cumprod, expected, rtol=0, atol=1e-15)
    from diffusers import DDPMScheduler

    reference = DDPMScheduler.from_config(ARCHS["tiny"].config("scheduler")).alphas_cumprod
    assert torch.allclose(tiny.alphas_cumprod.float(), reference, atol=1e-6)


def test_decode_gives_uint8_rgb_images_of_the_requested_size(tiny):
    images = tiny.decode(torch.randn(3, *tiny.latent_shape(64, 48)))
    assert images.shape == (3, 64, 48, 3) and images.dtype == torch.uint8 and images.device.type == "cpu"
    assert images.float().std() > 0


@pytest.mark.parametrize("size", [(60, 64), (64, 12), (0, 64)])
def test_sizes_not_multiple_of_8_are_user_errors(tiny, size):
    with pytest.raises(UserError, match="multiple of 8"):
        tiny.latent_shape(*size)


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"arch": "tiny"}, "weights: random"),
        ({"arch": "sd3", "weights": "random"}, "known: sd15"),
        ({"arch": "tiny", "weights": "random", "dtyp": "float16"}, "unknown key"),
        ({"arch": "tiny", "source": "a/b", "weights": "random"}, "exactly one"),
        ({"source": "a/b", "weights": "random"}, "random weights need arch"),
        ({"arch": "tiny", "weights": "random", "dtype": "int8"}, "allowed: float32"),
        ({"arch": "tiny", "weights": "random", "device": "tpu:x"}, "not a torch device"),
        ({"arch": "tiny", "weights": "random", "prediction_type": "flow"}, "supported: epsilon"),
    ],
)
def test_bad_specs_are_one_line_user_errors(spec, match):
    with pytest.raises(UserError, match=match) as err:
        load_diffusers_model(spec)
    assert "\n" not in str(err.value)


def test_cuda_without_a_gpu_is_a_user_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(UserError, match="device: cpu"):
        load_diffusers_model({"arch": "tiny", "weights": "random", "device": "cuda"})


# ---------------------------------------------------------------- text


def test_tokenizer_ids_equal_open_clip_except_padding(tiny):
    import open_clip

    ours = tiny.tokenizers[0]([PROMPT], padding="max_length", max_length=77, return_tensors="pt").input_ids[0]
    theirs = open_clip.get_tokenizer("ViT-B-32")([PROMPT])[0]
    n = int((theirs != 0).sum())
    assert n > 10 and torch.equal(ours[:n], theirs[:n])
    assert (ours[n:] == 49407).all()  # SD 1.x pads with <|endoftext|>, open_clip with 0


def test_clip_skip_2_is_the_normed_penultimate_layer(tiny):
    encoder, tokenizer = tiny.text_encoders[0], tiny.tokenizers[0]
    ids = tokenizer([PROMPT], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        out = encoder(ids, output_hidden_states=True)
        direct = encoder.final_layer_norm(out.hidden_states[-2])
    skip1, skip2 = tiny.encode([PROMPT], clip_skip=1).embeds, tiny.encode([PROMPT], clip_skip=2).embeds
    assert torch.allclose(skip1, out.last_hidden_state, atol=1e-6)
    assert torch.allclose(skip2, direct, atol=1e-6)
    assert (skip1 - skip2).abs().max() > 1e-3
    with pytest.raises(UserError, match="allowed 1..2"):
        tiny.encode([PROMPT], clip_skip=3)


def test_empty_prompt_is_the_encoding_of_empty_text(tiny):
    ids = tiny.tokenizers[0]([""], padding="max_length", max_length=77, return_tensors="pt").input_ids
    with torch.no_grad():
        direct = tiny.text_encoders[0](ids).last_hidden_state
    uncond = tiny.encode([""]).embeds
    assert torch.allclose(uncond, direct) and uncond.abs().sum() > 0


def test_tiny_xl_pooled_embeds_zero_uncond_and_time_ids(tiny_xl):
    cond = tiny_xl.encode(["a red circle", ""])
    assert cond.embeds.shape == (2, 77, 64) and cond.pooled.shape == (2, 32)
    assert cond.embeds[0].abs().sum() > 0 and cond.pooled[0].abs().sum() > 0
    assert cond.embeds[1].abs().sum() == 0 and cond.pooled[1].abs().sum() == 0  # diffusers' SDXL default
    assert torch.equal(tiny_xl._time_ids(torch.Size([8, 6]), 1), torch.tensor([[64.0, 48, 0, 0, 64, 48]]))
    x = torch.randn(2, *tiny_xl.latent_shape(64, 48))
    eps = tiny_xl.eps(x, torch.tensor([500.0, 500.0]), cond)
    assert eps.shape == x.shape and torch.isfinite(eps).all()
    # the time ids reach the UNet: the same latents at another claimed image size give another eps
    with torch.no_grad():
        added = {"text_embeds": cond.pooled, "time_ids": torch.tensor([[128.0, 96, 0, 0, 128, 96]] * 2)}
        other = tiny_xl.unet(
            x, torch.tensor([500.0, 500.0]), encoder_hidden_states=cond.embeds, added_cond_kwargs=added
        ).sample
    assert (other - eps).abs().max() > 1e-4


def test_tiny_xl_encode_matches_diffusers_encode_prompt(tiny_xl):
    from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline

    pipe = StableDiffusionXLPipeline(
        vae=tiny_xl.vae,
        text_encoder=tiny_xl.text_encoders[0],
        tokenizer=tiny_xl.tokenizers[0],
        text_encoder_2=tiny_xl.text_encoders[1],
        tokenizer_2=tiny_xl.tokenizers[1],
        unet=tiny_xl.unet,
        scheduler=EulerDiscreteScheduler.from_config(ARCHS["tiny-xl"].config("scheduler")),
    )
    for skip in (1, 2):  # WebUI clip skip N = diffusers clip_skip N - 1
        ref = pipe.encode_prompt(
            PROMPT, device="cpu", num_images_per_prompt=1, do_classifier_free_guidance=True, clip_skip=skip - 1 or None
        )
        cond, uncond = tiny_xl.encode([PROMPT], clip_skip=skip), tiny_xl.encode([""], clip_skip=skip)
        assert torch.allclose(cond.embeds, ref[0], atol=1e-6) and torch.allclose(cond.pooled, ref[2], atol=1e-6)
        assert torch.allclose(uncond.embeds, ref[1]) and torch.allclose(uncond.pooled, ref[3])
    time_ids = pipe._get_add_time_ids((64, 48), (0, 0), (64, 48), dtype=torch.float32, text_encoder_projection_dim=32)
    assert torch.equal(tiny_xl._time_ids(torch.Size([8, 6]), 1), time_ids)


# ---------------------------------------------------------------- CFG batching and schedules


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_concat_cond_makes_cfg_one_call_equal_to_two(tiny):
    uncond, cond = tiny.encode([""]), tiny.encode(["a cat"])
    x = torch.randn(2, *tiny.latent_shape(64, 64))  # two seeds of one prompt
    t = torch.tensor([321.7, 321.7])
    both = tiny.eps(torch.cat([x, x]), torch.cat([t, t]), tiny.concat_cond(uncond, cond))
    assert torch.allclose(both[:2], tiny.eps(x, t, uncond), atol=1e-5)
    assert torch.allclose(both[2:], tiny.eps(x, t, cond), atol=1e-5)


def test_abar_at_fractional_t_matches_k_diffusion(tiny):
    schedule = _k_schedule(tiny.alphas_cumprod)
    t = torch.tensor([0.0, 0.25, 17.5, 498.9, 999.0], dtype=torch.float64)
    sigma = schedule.t_to_sigma(t)
    assert torch.allclose(abar_at(log_sigmas(tiny.alphas_cumprod), t), 1 / (1 + sigma**2), rtol=1e-12)


def test_v_prediction_recovers_eps_on_a_constructed_case():
    abar_table = alphas_cumprod_from_config(ARCHS["sd21"].scheduler)
    t = torch.tensor([3.5, 250.25, 998.75], dtype=torch.float64)
    sigma = _k_schedule(abar_table).t_to_sigma(t)
    abar = (1 / (1 + sigma**2)).view(-1, 1, 1, 1)
    gen = torch.Generator().manual_seed(0)
    x0, eps = (
        torch.randn(3, 4, 8, 8, generator=gen, dtype=torch.float64),
        torch.randn(3, 4, 8, 8, generator=gen, dtype=torch.float64),
    )
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * eps
    v = abar.sqrt() * eps - (1 - abar).sqrt() * x0  # Salimans & Ho 2022
    got = to_eps("v_prediction", v, x_t, abar_at(log_sigmas(abar_table), t))
    assert torch.allclose(got, eps, atol=1e-10)
    assert torch.allclose(to_eps("sample", x0, x_t, abar_at(log_sigmas(abar_table), t)), eps, atol=1e-8)


def test_v_prediction_model_converts_its_unet_output(tiny):
    v_model = load_diffusers_model({"arch": "tiny", "weights": "random", "prediction_type": "v_prediction"})
    assert v_model.identity()["prediction_type"] == "v_prediction"
    cond = v_model.encode(["a cat", "a dog"])
    x, t = torch.randn(2, 4, 8, 8), torch.tensor([120.5, 870.25])
    with torch.no_grad():
        v = v_model.unet(x, t, encoder_hidden_states=cond.embeds).sample
    sigma = _k_schedule(v_model.alphas_cumprod).t_to_sigma(t.double())
    abar = (1 / (1 + sigma**2)).float().view(-1, 1, 1, 1)
    assert torch.allclose(v_model.eps(x, t, cond), abar.sqrt() * v + (1 - abar).sqrt() * x, atol=1e-5)


def test_sd21_arch_is_v_prediction_and_sd15_eps():
    assert ARCHS["sd21"].scheduler["prediction_type"] == "v_prediction"
    assert ARCHS["sd15"].scheduler["prediction_type"] == "epsilon"


# ---------------------------------------------------------------- driven by k-diffusion


class _CFG(torch.nn.Module):
    """What the runner does: one eps call on [uncond; cond] and the guidance mix."""

    def __init__(self, model: DiffusersModel, both: SDCond, scale: float) -> None:
        super().__init__()
        self.model, self.both, self.scale = model, both, scale

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        uncond, cond = self.model.eps(torch.cat([x, x]), torch.cat([t, t]), self.both).chunk(2)
        return uncond + self.scale * (cond - uncond)


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
@pytest.mark.parametrize("fixture", ["tiny", "tiny_xl"])
def test_k_diffusion_euler_runs_the_model_with_cfg(fixture, request):
    from k_diffusion.external import DiscreteEpsDDPMDenoiser
    from k_diffusion.sampling import sample_euler

    model = request.getfixturevalue(fixture)
    both = model.concat_cond(model.encode([""]), model.encode(["a red circle"]))
    denoiser = DiscreteEpsDDPMDenoiser(_CFG(model, both, 7.0), model.alphas_cumprod, quantize=False)
    sigmas = denoiser.get_sigmas(3)
    x = torch.randn(2, *model.latent_shape(64, 64), generator=torch.Generator().manual_seed(1)) * sigmas[0]
    out = sample_euler(denoiser, x, sigmas, disable=True)
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert not torch.allclose(out.float(), x.float())
    images = model.decode(out.float())
    assert images.shape == (2, 64, 64, 3)


def test_environment_names_libraries_and_attention(tiny):
    env = tiny.environment()
    assert env["device"] == "cpu" and env["diffusers"] and env["torch"] == torch.__version__
    assert env["attention_processors"]


@pytest.mark.parametrize("arch, vae_dtype", [("tiny", torch.float16), ("tiny-xl", torch.float32)])
def test_fp16_upcasts_only_the_sdxl_vae(arch, vae_dtype):
    model = load_diffusers_model({"arch": arch, "weights": "random", "dtype": "float16", "device": "cpu"})
    assert model.unet.dtype == torch.float16 and model.vae.dtype == vae_dtype
    x = torch.randn(1, *model.latent_shape(64, 64))
    eps = model.eps(x, torch.tensor([100.0]), model.encode(["a cat"]))
    assert eps.dtype == torch.float32 and torch.isfinite(eps).all()
    assert model.decode(x).dtype == torch.uint8
