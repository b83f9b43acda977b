"""ImageReward: a human-preference reward of an image for its prompt (Xu et al. 2023, "ImageReward: Learning
and Evaluating Human Preferences for Text-to-Image Generation", NeurIPS, arXiv:2304.05977).

The published model (``THUDM/ImageReward``: ``ImageReward.pt`` and ``med_config.json``, Apache-2.0) is BLIP
(Li et al. 2022, arXiv:2201.12086) trained on 137k expert comparisons: a ViT-L/16 encodes the image, a
BERT-base text encoder reads the prompt with cross-attention to the image tokens, and an MLP maps the text
[CLS] feature to one number, normalised by the mean and standard deviation ImageReward publishes. Scores are
about -2 to 2 (0: the average of its training images).

Loaded here into transformers' BLIP modules (`BlipVisionModel`, `BlipTextModel`), which are the same
architecture, by renaming the checkpoint's keys (`RENAMES`: the renaming of BLIP's timm-style ViT that
transformers' BLIP conversion uses; the text encoder's names are BLIP's own). The image-reward package is not
used: it pins timm 0.6.13 (open_clip needs >= 1.0.17) and its BLIP copy needs transformers 4.
`perf/image_reward_parity.py` checks this scorer against that package's model in a separate environment.

The prompt is tokenised by bert-base-uncased with BLIP's two added tokens, padded and cut at 35 tokens; the
image is resized (bicubic, short side) and centre-cropped to 224 px with CLIP's mean and std: both as
ImageReward's ``score`` does.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from bench.metrics.quality_settings import IMAGE_REWARD_REPO, ScorerSettings
from bench.metrics.weights import HubFile, WeightsMissing, fetch, hub_folder

#: ImageReward v1.0's normalisation of the MLP's output (ImageReward.py: self.mean, self.std)
MEAN = 0.16717362830052426
STD = 1.0333394966054072
MAX_TOKENS = 35  # the prompt's padded and cut length in ImageReward's score()
IMAGE_SIZE = 224
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HEAD_WIDTH = 64  # BLIP's ViTs: base 12 heads x 64, large 16 heads x 64 (the checkpoint does not store it)

#: the published checkpoint's key -> this module's (first match wins)
RENAMES: tuple[tuple[str, str], ...] = (
    (r"^blip\.visual_encoder\.cls_token$", "vision.embeddings.class_embedding"),
    (r"^blip\.visual_encoder\.pos_embed$", "vision.embeddings.position_embedding"),
    (r"^blip\.visual_encoder\.patch_embed\.proj\.", "vision.embeddings.patch_embedding."),
    (r"^blip\.visual_encoder\.blocks\.(\d+)\.norm(\d)\.", r"vision.encoder.layers.\1.layer_norm\2."),
    (r"^blip\.visual_encoder\.blocks\.(\d+)\.attn\.qkv\.", r"vision.encoder.layers.\1.self_attn.qkv."),
    (r"^blip\.visual_encoder\.blocks\.(\d+)\.attn\.proj\.", r"vision.encoder.layers.\1.self_attn.projection."),
    (r"^blip\.visual_encoder\.blocks\.(\d+)\.mlp\.", r"vision.encoder.layers.\1.mlp."),
    (r"^blip\.visual_encoder\.norm\.", "vision.post_layernorm."),
    (r"^blip\.text_encoder\.", "text."),
    (r"^mlp\.layers\.", "mlp."),
)
#: keys of the published checkpoint that scoring does not use (BLIP's contrastive projections, buffers)
UNUSED = re.compile(r"^blip\.(vision_proj|text_proj)\.|\.position_ids$")
_MLP_LINEARS = (0, 2, 4, 6, 7)  # ImageReward's MLP: Linear, Dropout, Linear, Dropout, Linear, Dropout, Linear, Linear
_MLP_DROPOUT = (0.2, 0.2, 0.1)


def rename(state: dict[str, Any]) -> dict[str, Any]:
    """The published checkpoint's tensors under this module's names; an unknown key is an error."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if UNUSED.search(key):
            continue
        for pattern, target in RENAMES:
            new, n = re.subn(pattern, target, key)
            if n:
                out[new] = value
                break
        else:
            raise ValueError(f"unexpected key {key!r}")
    return out


class ImageRewardModel(torch.nn.Module):
    """BLIP's image encoder and image-grounded text encoder, and ImageReward's MLP head."""

    def __init__(self, vision: Any, text: Any, mlp_widths: Sequence[int]) -> None:
        from transformers import BlipTextModel, BlipVisionModel

        super().__init__()
        self.image_size = int(vision.image_size)
        self.vision = BlipVisionModel(vision)
        self.text = BlipTextModel(text, add_pooling_layer=False)
        layers: list[torch.nn.Module] = []
        for i, (a, b) in enumerate(zip(mlp_widths, mlp_widths[1:])):
            layers.append(torch.nn.Linear(a, b))
            if i < len(_MLP_DROPOUT):
                layers.append(torch.nn.Dropout(_MLP_DROPOUT[i]))
        self.mlp = torch.nn.Sequential(*layers)

    def forward(self, pixels: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        image = self.vision(pixel_values=pixels).last_hidden_state
        text = self.text(
            input_ids=input_ids,
            attention_mask=attention_mask,
            encoder_hidden_states=image,
            encoder_attention_mask=torch.ones(image.shape[:-1], dtype=torch.long, device=image.device),
        ).last_hidden_state[:, 0, :]
        return ((self.mlp(text.float()) - MEAN) / STD).squeeze(-1)


def vision_config(state: dict[str, Any] | None) -> Any:
    """BLIP's ViT as a `BlipVisionConfig`, read from the renamed checkpoint's shapes (ViT-L/16 at 224 px
    without one: ImageReward's `create_vit('large', 224)`)."""
    from transformers import BlipVisionConfig

    if state is None:
        width, depth, inner, patch, image = 1024, 24, 4096, 16, IMAGE_SIZE
    else:
        width = int(state["vision.embeddings.class_embedding"].shape[-1])
        depth = len({k.split(".")[3] for k in state if k.startswith("vision.encoder.layers.")})
        inner = int(state["vision.encoder.layers.0.mlp.fc1.weight"].shape[0])
        patch = int(state["vision.embeddings.patch_embedding.weight"].shape[-1])
        image = patch * math.isqrt(int(state["vision.embeddings.position_embedding"].shape[1]) - 1)
    return BlipVisionConfig(
        hidden_size=width,
        intermediate_size=inner,
        num_hidden_layers=depth,
        num_attention_heads=max(1, width // HEAD_WIDTH),
        image_size=image,
        patch_size=patch,
        layer_norm_eps=1e-6,  # BLIP's ViT: partial(nn.LayerNorm, eps=1e-6)
        hidden_act="gelu",
    )


def text_config(med_config: dict[str, Any], encoder_width: int) -> Any:
    """BLIP's text encoder (its med_config.json, a BertConfig) as a `BlipTextConfig` with cross-attention
    to `encoder_width`-wide image tokens (BLIP_Pretrain sets encoder_width to the ViT's width)."""
    from transformers import BlipTextConfig

    keys = (
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
        "max_position_embeddings",
        "hidden_act",
        "layer_norm_eps",
        "pad_token_id",
    )
    return BlipTextConfig(
        **{k: med_config[k] for k in keys if k in med_config},
        encoder_hidden_size=encoder_width,
        is_decoder=True,  # transformers builds the cross-attention layers of decoders; run as an encoder
    )


def mlp_widths(state: dict[str, Any] | None, text_width: int) -> list[int]:
    if state is None:
        return [text_width, 1024, 128, 64, 16, 1]
    return [int(state["mlp.0.weight"].shape[1])] + [int(state[f"mlp.{i}.weight"].shape[0]) for i in _MLP_LINEARS]


@dataclass(frozen=True, eq=False)
class ImageRewardScorer:
    """The model and BLIP's tokenizer; `score` preprocesses as ImageReward's own `score` does."""

    model: ImageRewardModel
    tokenizer: Any
    random_weights: bool
    device: str = "cpu"

    def score(self, images: Any, prompts: Sequence[str]) -> tuple[list[float], list[bool]]:
        """One reward per (image, prompt), and whether each prompt was cut at `MAX_TOKENS`."""
        from torchvision import transforms

        from bench.metrics.clip_score import _to_pil

        size = self.model.image_size
        preprocess = transforms.Compose(
            [
                transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
                transforms.CenterCrop(size),
                transforms.ToTensor(),
                transforms.Normalize(CLIP_MEAN, CLIP_STD),
            ]
        )
        pixels = torch.stack([preprocess(p.convert("RGB")) for p in _to_pil(images)]).to(self.device)
        text = self.tokenizer(
            list(prompts), padding="max_length", truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
        )
        full = self.tokenizer(list(prompts))["input_ids"]
        with torch.inference_mode():
            rewards = self.model(pixels, text["input_ids"].to(self.device), text["attention_mask"].to(self.device))
        return [float(r) for r in rewards.cpu().tolist()], [len(ids) > MAX_TOKENS for ids in full]


def _file(settings: ScorerSettings, name: str, what: str, offline: bool) -> str:
    """A file of the model: from `settings.model` when it is a folder, else ImageReward's own download
    folder (~/.cache/ImageReward, where the image-reward package keeps it), else the hub cache or a download."""
    if os.path.isdir(settings.model):
        path = os.path.join(settings.model, name)
        if not os.path.isfile(path):
            raise WeightsMissing(f"{what}: {path} does not exist")
        return path
    package_cache = Path.home() / ".cache" / "ImageReward" / name
    if settings.model == IMAGE_REWARD_REPO and package_cache.is_file():
        return str(package_cache)
    return fetch(HubFile(settings.model, name), what, offline_flag=offline)


def _checkpoint(path: str) -> dict[str, Any]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state) if isinstance(state, dict) else state
        if not isinstance(state, dict):
            raise ValueError(f"holds a {type(state).__name__}, not a state dict")
        return rename(state)
    except Exception as exc:  # a broken or foreign file: the metric is skipped with this reason
        first = (str(exc).splitlines() or [""])[0]
        raise WeightsMissing(f"{path} is not an ImageReward checkpoint: {first}") from None


def load_image_reward(settings: ScorerSettings, device: str = "cpu", offline: bool = False) -> ImageRewardScorer:
    """The scorer: med_config.json and the tokenizer, then the checkpoint (a path, a file of the repo, or
    random: ViT-L and the config's text encoder with random weights, flagged)."""
    import json

    from transformers import BertTokenizer

    what = "ImageReward weights"
    med_path = _file(settings, "med_config.json", what, offline)
    try:
        med = json.loads(Path(med_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WeightsMissing(f"{med_path} is not a BLIP med_config.json: {exc}") from None
    tokenizer = BertTokenizer.from_pretrained(
        hub_folder(settings.processor, ["vocab.txt"], ["tokenizer_config.json"], "ImageReward tokenizer", offline)
    )
    tokenizer.add_special_tokens({"bos_token": "[DEC]"})  # BLIP's init_tokenizer
    tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    state = None
    if not settings.random:
        path = (
            settings.weights if os.path.isfile(settings.weights) else _file(settings, settings.weights, what, offline)
        )
        state = _checkpoint(path)
    vision = vision_config(state)
    text = text_config(med, vision.hidden_size)
    model = ImageRewardModel(vision, text, mlp_widths(state, text.hidden_size))
    if state is not None:
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise WeightsMissing(
                f"{settings.weights} does not fit ImageReward's architecture with {med_path}: "
                f"missing {missing[:3]}, unexpected {unexpected[:3]}"
            )
    return ImageRewardScorer(model.eval().to(device), tokenizer, settings.random, device)


def image_reward(res: Any, batch: Any) -> list[tuple[float | None, str | None]]:
    """ImageReward per image for its prompt (about -2 to 2; higher is preferred)."""
    from bench.metrics.preference import scored

    return scored(res, batch, "image_reward", load_image_reward, MAX_TOKENS)
