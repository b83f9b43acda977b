"""SD components: the loaded parts of a pipeline, and building them from an architecture offline.

`build_random` gives real time and memory with meaningless images (random weights);
`write_config_folder` writes an architecture as a diffusers folder without weights, which is what
`from_single_file(config=...)` needs to load a checkpoint with no hub access.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from bench.models.sd_configs import SDArch
from bench.models.sd_tokenizer import clip_tokenizer

TEXT_SLOTS = (("text_encoder", "tokenizer"), ("text_encoder_2", "tokenizer_2"))


@dataclass(frozen=True)
class SDComponents:
    """What the model needs from a pipeline; the rest (safety checker, feature extractor) is never loaded."""

    unet: torch.nn.Module
    vae: torch.nn.Module
    text_encoders: tuple[torch.nn.Module, ...]
    tokenizers: tuple[Any, ...]
    scheduler_config: dict[str, Any]
    #: SDXL pipelines encode the "" negative prompt as zeros (diffusers' default for SDXL base)
    force_zeros_for_empty_prompt: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _text_encoder(config: dict[str, Any], with_projection: bool) -> torch.nn.Module:
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    cls = CLIPTextModelWithProjection if with_projection else CLIPTextModel
    return cls(CLIPTextConfig(**config))


def build_random(arch: SDArch, seed: int, dtype: torch.dtype) -> SDComponents:
    """All components with PyTorch's default init from `seed`, built on the CPU so any device gets
    the same weights for the same seed."""
    from diffusers import AutoencoderKL, UNet2DConditionModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DConditionModel.from_config(_without_class(arch.config("unet")))
        vae = AutoencoderKL.from_config(_without_class(arch.config("vae")))
        encoders = tuple(
            _text_encoder(cfg, with_projection=i == 1) for i, cfg in enumerate(arch.config("text_encoders"))
        )
    parts = [unet, vae, *encoders]
    for part in parts:
        # nn.Module.to: diffusers' own `to` only adds a warning about fp32-kept modules, which SD has none of
        torch.nn.Module.to(part, dtype).eval().requires_grad_(False)
    return SDComponents(
        unet,
        vae,
        encoders,
        tuple(clip_tokenizer(pad) for pad in arch.pad_tokens),
        arch.config("scheduler"),
        force_zeros_for_empty_prompt=arch.is_xl,
    )


def _without_class(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if not k.startswith("_")}


def model_index(arch: SDArch) -> dict[str, Any]:
    """model_index.json of the architecture's pipeline, without the safety checker."""
    import diffusers

    index: dict[str, Any] = {
        "_class_name": arch.pipeline,
        "_diffusers_version": diffusers.__version__,
        "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
        "scheduler": ["diffusers", arch.scheduler["_class_name"]],
        "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
    }
    if arch.is_xl:
        index.update(
            text_encoder_2=["transformers", "CLIPTextModelWithProjection"],
            tokenizer_2=["transformers", "CLIPTokenizer"],
            image_encoder=[None, None],
            feature_extractor=[None, None],
            force_zeros_for_empty_prompt=True,
        )
    else:
        index.update(safety_checker=[None, None], feature_extractor=[None, None], requires_safety_checker=False)
    return index


def write_config_folder(arch: SDArch, folder: Path) -> Path:
    """The architecture as a diffusers folder of configs and tokenizers (no weights)."""
    from transformers import CLIPTextConfig

    folder = Path(folder)
    _write_json(folder / "model_index.json", model_index(arch))
    _write_json(folder / "unet" / "config.json", arch.config("unet"))
    _write_json(folder / "vae" / "config.json", arch.config("vae"))
    _write_json(folder / "scheduler" / "scheduler_config.json", arch.config("scheduler"))
    for i, (config, pad) in enumerate(zip(arch.config("text_encoders"), arch.pad_tokens)):
        encoder_dir, tokenizer_dir = TEXT_SLOTS[i]
        text_config = CLIPTextConfig(**config)
        text_config.architectures = ["CLIPTextModelWithProjection" if i else "CLIPTextModel"]
        text_config.save_pretrained(folder / encoder_dir)
        clip_tokenizer(pad).save_pretrained(folder / tokenizer_dir)
    return folder


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
