"""Architecture configs of the Stable Diffusion families, so a model builds offline from its name.

The sd15 / sd21 / sdxl values are the published diffusers configs of stable-diffusion-v1-5,
stable-diffusion-2-1 (768-v) and stable-diffusion-xl-base-1.0 (written out here because no machine reaches
the hub). `tiny` / `tiny-xl` keep the same block structure at toy widths: tests and CI run them on a CPU.
The configs double as the local `config=` folder that lets `from_single_file` load a checkpoint offline.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

END = "<|endoftext|>"  # SD 1.x / CLIP-L tokenizers pad with it
BANG = "!"  # OpenCLIP-H / bigG tokenizers (SD 2.x, SDXL's second encoder) pad with "!" (id 0)


@dataclass(frozen=True)
class SDArch:
    """One architecture: component configs (plain dicts, copied on access) and pipeline facts."""

    name: str
    pipeline: str  # diffusers pipeline class that loads its single files
    unet: dict[str, Any]
    vae: dict[str, Any]
    text_encoders: tuple[dict[str, Any], ...]  # transformers CLIPTextConfig kwargs; 2nd has a projection
    pad_tokens: tuple[str, ...]  # one per tokenizer
    scheduler: dict[str, Any]

    @property
    def is_xl(self) -> bool:
        return len(self.text_encoders) == 2

    def config(self, part: str) -> Any:
        """A private copy of one component's config, safe to mutate."""
        return copy.deepcopy(getattr(self, part))


def _scheduler(prediction_type: str) -> dict[str, Any]:
    # SD's training schedule: scaled-linear betas 0.00085..0.012 over 1000 steps (all three families)
    return {
        "_class_name": "EulerDiscreteScheduler",
        "num_train_timesteps": 1000,
        "beta_start": 0.00085,
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "prediction_type": prediction_type,
        "steps_offset": 1,
        "timestep_spacing": "leading",
        "interpolation_type": "linear",
    }


def _text(
    hidden: int, layers: int, heads: int, act: str, projection: int, intermediate: int | None = None
) -> dict[str, Any]:
    return {
        "vocab_size": 49408,
        "hidden_size": hidden,
        "intermediate_size": intermediate or 4 * hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "max_position_embeddings": 77,
        "hidden_act": act,
        "projection_dim": projection,
        "layer_norm_eps": 1e-5,
        "bos_token_id": 0,
        "eos_token_id": 2,
        "pad_token_id": 1,
    }


def _vae(
    channels: tuple[int, ...], groups: int, layers: int, scaling: float, size: int, **extra: Any
) -> dict[str, Any]:
    return {
        "_class_name": "AutoencoderKL",
        "in_channels": 3,
        "out_channels": 3,
        "latent_channels": 4,
        "block_out_channels": list(channels),
        "layers_per_block": layers,
        "norm_num_groups": groups,
        "act_fn": "silu",
        "down_block_types": ["DownEncoderBlock2D"] * len(channels),
        "up_block_types": ["UpDecoderBlock2D"] * len(channels),
        "sample_size": size,
        "scaling_factor": scaling,
        **extra,
    }


def _unet(
    channels: tuple[int, ...],
    down: tuple[str, ...],
    cross_dim: int,
    heads: Any,
    size: int,
    groups: int = 32,
    layers: int = 2,
    **extra: Any,
) -> dict[str, Any]:
    up = tuple(reversed([kind.replace("Down", "Up") for kind in down]))
    return {
        "_class_name": "UNet2DConditionModel",
        "in_channels": 4,
        "out_channels": 4,
        "block_out_channels": list(channels),
        "down_block_types": list(down),
        "up_block_types": list(up),
        "layers_per_block": layers,
        "cross_attention_dim": cross_dim,
        "attention_head_dim": heads,
        "norm_num_groups": groups,
        "norm_eps": 1e-5,
        "act_fn": "silu",
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "downsample_padding": 1,
        "mid_block_scale_factor": 1,
        "sample_size": size,
        **extra,
    }


_SD_VAE = _vae((128, 256, 512, 512), 32, 2, 0.18215, 512)
_TINY_VAE = _vae((8, 16, 16, 16), 8, 1, 0.18215, 64)  # four blocks: the latent is 1/8 of the image, as in SD
_CLIP_L = _text(768, 12, 12, "quick_gelu", 768)
_XL_DOWN = ("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D")
_SD_DOWN = ("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",)

ARCHS: dict[str, SDArch] = {
    "sd15": SDArch(
        "sd15",
        "StableDiffusionPipeline",
        _unet((320, 640, 1280, 1280), _SD_DOWN, 768, 8, 64),
        _SD_VAE,
        (_CLIP_L,),
        (END,),
        _scheduler("epsilon"),
    ),
    "sd21": SDArch(  # the 768-v model: v-prediction, OpenCLIP-H text encoder without its last layer
        "sd21",
        "StableDiffusionPipeline",
        _unet(
            (320, 640, 1280, 1280),
            _SD_DOWN,
            1024,
            [5, 10, 20, 20],
            96,
            use_linear_projection=True,
            upcast_attention=True,
        ),
        {**_SD_VAE, "sample_size": 768},
        (_text(1024, 23, 16, "gelu", 512),),
        (BANG,),
        _scheduler("v_prediction"),
    ),
    "sdxl": SDArch(
        "sdxl",
        "StableDiffusionXLPipeline",
        _unet(
            (320, 640, 1280),
            _XL_DOWN,
            2048,
            [5, 10, 20],
            128,
            use_linear_projection=True,
            transformer_layers_per_block=[1, 2, 10],
            addition_embed_type="text_time",
            addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816,
        ),
        {**_SD_VAE, "scaling_factor": 0.13025, "sample_size": 1024, "force_upcast": True},
        (_CLIP_L, _text(1280, 32, 20, "gelu", 1280)),
        (END, BANG),
        _scheduler("epsilon"),
    ),
    "tiny": SDArch(
        "tiny",
        "StableDiffusionPipeline",
        _unet((32, 64), ("CrossAttnDownBlock2D", "DownBlock2D"), 32, 8, 8),
        _TINY_VAE,
        (_text(32, 2, 4, "quick_gelu", 32, intermediate=37),),
        (END,),
        _scheduler("epsilon"),
    ),
    "tiny-xl": SDArch(  # cross dim 64 = 32 + 32 (both encoders), added embeds 32 + 6 * 8
        "tiny-xl",
        "StableDiffusionXLPipeline",
        _unet(
            (32, 64),
            ("DownBlock2D", "CrossAttnDownBlock2D"),
            64,
            [2, 4],
            8,
            use_linear_projection=True,
            transformer_layers_per_block=[1, 2],
            addition_embed_type="text_time",
            addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=80,
        ),
        {**_TINY_VAE, "scaling_factor": 0.13025, "force_upcast": True},
        (_text(32, 2, 4, "quick_gelu", 32, intermediate=37), _text(32, 2, 4, "gelu", 32, intermediate=37)),
        (END, BANG),
        _scheduler("epsilon"),
    ),
}


def get_arch(name: str) -> SDArch:
    """The architecture named `name`, or a UserError listing the known ones."""
    if name not in ARCHS:
        from bench.errors import UserError

        raise UserError(f"model.arch: unknown architecture {name!r}; known: {', '.join(ARCHS)}")
    return ARCHS[name]
