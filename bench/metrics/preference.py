"""Human-preference scores of an image for its prompt: HPS v2.1 and PickScore.

Both are CLIP models fine-tuned on human choices between images of one prompt, and score one image by
the similarity of its embedding with the prompt's:
- HPS v2.1 (Wu et al. 2023, "Human Preference Score v2"): an open_clip ViT-H-14 fine-tuned on HPD v2
  (798k choices); score = cos(image, text), as the hpsv2 package's ``img_score``. Loaded here through
  open_clip (the architecture hpsv2 builds) and the published checkpoint ``xswu/HPSv2`` /
  ``HPS_v2.1_compressed.pt`` (its ``state_dict``), without the hpsv2 package (it pins protobuf 3.20
  and pytest 7.2).
- PickScore v1 (Kirstain et al. 2023, "Pick-a-Pic"): a transformers ``CLIPModel`` (CLIP-H) fine-tuned
  on Pick-a-Pic; score = logit_scale.exp() * cos(image, text), as its model card computes it, with the
  processor of ``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``.
Weights: the cache, then a download (`bench.metrics.weights`); ``weights: random`` builds the
architecture untrained (tests), and every value it gives is flagged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from bench.metrics.quality_settings import HPS_REPO, QualitySettings, ScorerSettings
from bench.metrics.weights import HubFile, fetch, fetch_first, hub_folder

RANDOM_NOTE = "{name}: random weights: not a meaningful score"
_PROCESSOR_FILES = (
    "preprocessor_config.json",
    "tokenizer_config.json",
    "vocab.json",
    "merges.txt",
    "special_tokens_map.json",
)


def quality_of(res: Any) -> QualitySettings:
    """The run's `quality:` settings (the published defaults when the file has none)."""
    return getattr(res.config, "quality", None) or QualitySettings()


def scorer_values(
    name: str, scores: list[float], truncated: list[bool], random: bool, context: int = 77
) -> list[tuple[float | None, str | None]]:
    """(score, note) per image: a note when the prompt was cut, and on every value of random weights."""
    notes = [f"{name}: prompt cut at the model's {context}-token context" if cut else None for cut in truncated]
    if random:
        notes = [" ".join(n for n in (RANDOM_NOTE.format(name=name), note) if n) for note in notes]
    return list(zip(scores, notes))


# ----------------------------------------------------------------------------------------- HPS v2.1


def load_hps(settings: ScorerSettings, device: str = "cpu", offline: bool = False) -> Any:
    """A `ClipScorer` holding HPS v2.1 (weights found or fetched before the large model is built)."""
    import open_clip
    import torch

    from bench.metrics.clip_score import ClipScorer

    path = None
    if not settings.random:
        path = (
            settings.weights
            if os.path.isfile(settings.weights)
            else fetch(
                HubFile(HPS_REPO, settings.weights),
                "HPS v2.1 weights",
                offline_flag=offline,
                hint=f"download {HPS_REPO}/{settings.weights} and give its path as quality: {{hps: {{weights: ...}}}}",
            )
        )
    model, _, preprocess = open_clip.create_model_and_transforms(settings.model, pretrained=None, device=device)
    if path is not None:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state.get("state_dict", state))
    name = f"HPS {settings.model}/{'random' if settings.random else os.path.basename(settings.weights)}"
    return ClipScorer.from_model(
        model, preprocess, open_clip.get_tokenizer(settings.model), name, random_weights=settings.random, device=device
    )


def hps(res: Any, batch: Any) -> list[tuple[float | None, str | None]]:
    """HPS v2.1 per image: cos(image, prompt) of the fine-tuned ViT-H-14 (the hpsv2 package's score)."""
    settings = quality_of(res).hps
    scorer = res.scorer("hps", lambda: load_hps(settings, str(res.model.device), res.offline))
    if scorer is None:
        return res.not_measured("hps", batch)
    result = scorer.score(batch.images, [c.prompt for c in batch.cells])
    return scorer_values("hps", [s / 100.0 for s in result.scores], result.truncated, scorer.random_weights)


# ----------------------------------------------------------------------------------------- PickScore


@dataclass(frozen=True, eq=False)
class PickScorer:
    """A transformers CLIPModel and its processor; score = logit_scale.exp() * cos(image, text)."""

    model: Any
    processor: Any
    random_weights: bool
    device: str = "cpu"

    def score(self, images: Any, prompts: Sequence[str]) -> tuple[list[float], list[bool]]:
        import torch

        from bench.metrics.clip_score import _to_pil

        pil = _to_pil(images)
        tokenizer = self.processor.tokenizer
        full = tokenizer(list(prompts), padding=True, truncation=False)["input_ids"]
        context = int(getattr(self.model.config.text_config, "max_position_embeddings", 77))
        pixels = self.processor(images=pil, return_tensors="pt")["pixel_values"].to(self.device)
        text = tokenizer(list(prompts), padding=True, truncation=True, max_length=context, return_tensors="pt")
        with torch.inference_mode():
            out = self.model(
                input_ids=text["input_ids"].to(self.device),
                attention_mask=text["attention_mask"].to(self.device),
                pixel_values=pixels,
            )
            img = torch.nn.functional.normalize(out.image_embeds.float(), dim=-1)
            txt = torch.nn.functional.normalize(out.text_embeds.float(), dim=-1)
            scores = self.model.logit_scale.exp().float() * (img * txt).sum(dim=-1)
        cut = [sum(1 for t in ids if t != tokenizer.pad_token_id) > context for ids in full]
        return [float(s) for s in scores.cpu().tolist()], cut


def load_pick(settings: ScorerSettings, device: str = "cpu", offline: bool = False) -> PickScorer:
    from transformers import CLIPConfig, CLIPModel, CLIPProcessor

    what = "PickScore weights"
    if settings.random:
        folder = hub_folder(settings.model, ["config.json"], [], what, offline)
        model = CLIPModel(CLIPConfig.from_pretrained(folder))
    else:
        if os.path.isdir(settings.model):
            folder = settings.model
        else:
            folder = hub_folder(settings.model, ["config.json"], [], what, offline)
            fetch_first(
                [HubFile(settings.model, "model.safetensors"), HubFile(settings.model, "pytorch_model.bin")],
                what,
                offline_flag=offline,
            )
        model = CLIPModel.from_pretrained(folder)
    processor_folder = hub_folder(
        settings.processor or settings.model, _PROCESSOR_FILES, ["tokenizer.json"], "PickScore processor", offline
    )
    processor = CLIPProcessor.from_pretrained(processor_folder)
    return PickScorer(model.eval().to(device), processor, settings.random, device)


def pick_score(res: Any, batch: Any) -> list[tuple[float | None, str | None]]:
    """PickScore per image (logit_scale x cos, about 18-23 for real images with the published model)."""
    return scored(res, batch, "pick_score", load_pick)


def scored(
    res: Any, batch: Any, name: str, load: Callable[[ScorerSettings, str, bool], Any], context: int = 77
) -> list[tuple[float | None, str | None]]:
    """A batch's values of an (image, prompt) scorer whose `score` gives (scores, prompt cut?): its model
    loaded once per run from `quality: {name: ...}` (None: the metric is not measured, with the reason)."""
    settings = getattr(quality_of(res), name)
    scorer = res.scorer(name, lambda: load(settings, str(res.model.device), res.offline))
    if scorer is None:
        return res.not_measured(name, batch)
    scores, cut = scorer.score(batch.images, [c.prompt for c in batch.cells])
    return scorer_values(name, scores, cut, scorer.random_weights, context)
