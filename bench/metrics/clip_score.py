"""CLIP score: text-image alignment of a generated image with its prompt, with an open_clip model.

``clip_score = 100 * cos(E_img(image), E_txt(prompt))`` per image, the convention of MLPerf's
text-to-image benchmark (Hessel et al. 2021, "CLIPScore", use w = 100).

torchmetrics' ``CLIPScore`` clamps each cosine at 0 (``100 * max(cos, 0)``) and then means over the
batch. We keep the raw per-image cosine x 100 instead: a mean of clamped values is biased upwards
(most visible with weak or random models, whose cosines straddle 0), and a report can still clamp
when it wants torchmetrics' number.

Weights come from a local file, the user's cache (Hugging Face hub cache, open_clip's URL cache
``~/.cache/clip``), or a download on a connected machine (`bench.metrics.weights`, as open_clip itself
does); offline (``--offline``, ``HF_HUB_OFFLINE=1``) nothing touches the network. Missing weights raise
:class:`ClipWeightsMissing` (not a ``UserError``: a run goes on without the column), with the command
that fetches them.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from bench.errors import UserError
from bench.metrics.weights import HubFile, UrlFile, WeightsMissing, fetch_first, hf_hub_cache

if TYPE_CHECKING:  # heavy imports stay inside functions: `bench --help` must not import torch
    import numpy as np
    import torch

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "openai"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
# open_clip's file names on the hub (open_clip.constants HF_WEIGHTS_NAME / HF_SAFE_WEIGHTS_NAME)
_HF_WEIGHTS = "open_clip_pytorch_model.bin"
_HF_SAFE_WEIGHTS = "open_clip_model.safetensors"


class ClipWeightsMissing(WeightsMissing):
    """CLIP weights are not on this machine; the run goes on without a clip_score column."""


@dataclass(frozen=True)
class ClipResult:
    """Per-image scores (raw 100*cos, unclamped) and whether each prompt was cut at the context."""

    scores: list[float]
    truncated: list[bool]
    model: str
    random_weights: bool


# --------------------------------------------------------------------------------------------
# Finding weights on disk, offline


def fetch_command(model: str, pretrained: str) -> str:
    """The command that downloads ``model``/``pretrained`` into the cache on a connected machine."""
    return (
        f"python -c \"import open_clip; open_clip.create_model_and_transforms('{model}', pretrained='{pretrained}')\""
    )


def _url_cache() -> Path:
    """open_clip's own cache for URL downloads (pretrained.download_pretrained_from_url)."""
    return Path(os.path.expanduser("~/.cache/clip"))


def _hf_candidates(hf_hub: str) -> list[tuple[str, str]]:
    """(repo_id, filename) pairs open_clip would download for an ``org/repo/[file]`` entry."""
    repo_id, filename = os.path.split(hf_hub)
    filename = filename or _HF_WEIGHTS
    safe = _HF_SAFE_WEIGHTS if filename == _HF_WEIGHTS else None
    if filename.endswith((".bin", ".pth")) and filename != _HF_WEIGHTS:
        safe = filename[:-4] + ".safetensors"
    return [(repo_id, name) for name in (safe, filename) if name]


def _find_in_hf_cache(repo_id: str, filename: str, cache: Path) -> str | None:
    from huggingface_hub import try_to_load_from_cache  # reads the cache folder only

    found = try_to_load_from_cache(repo_id, filename, cache_dir=str(cache))
    return found if isinstance(found, str) and os.path.isfile(found) else None


def _resolve_tag(model: str, tag: str, cache_dir: str | None, offline_flag: bool = False) -> tuple[str, dict[str, Any]]:
    """Local path of the weights of a pretrained tag (cache, then download), or ClipWeightsMissing."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        tags = open_clip.list_pretrained_tags_by_model(model)
        raise UserError(
            f"clip pretrained: unknown tag or missing file {tag!r} for model {model!r}; "
            f"allowed tags: {', '.join(tags) or '(none)'}; or a path to a "
            f"{'/'.join(_WEIGHT_SUFFIXES)} file"
        )
    if cfg.get("file") and os.path.isfile(cfg["file"]):
        return cfg["file"], cfg
    files: list[HubFile | UrlFile] = []
    if cfg.get("hf_hub"):
        files += [HubFile(repo_id, name) for repo_id, name in _hf_candidates(cfg["hf_hub"])]
    if cfg.get("url"):
        files.append(UrlFile(cfg["url"], cache_dir or str(_url_cache())))
    if not files:
        raise ClipWeightsMissing(f"CLIP weights {model}/{tag}: file {cfg.get('file')} not found")
    try:
        return fetch_first(
            files,
            f"CLIP weights {model}/{tag}",
            offline_flag=offline_flag,
            cache_dir=cache_dir,
            hint=f"fetch them with: {fetch_command(model, tag)}",
        ), cfg
    except WeightsMissing as exc:
        raise ClipWeightsMissing(str(exc)) from None


def _missing_file(model: str, path: str) -> ClipWeightsMissing:
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(model)
    tag = DEFAULT_PRETRAINED if DEFAULT_PRETRAINED in tags else (tags[0] if tags else None)
    how = (
        f"or fetch published weights with: {fetch_command(model, tag)} and pass pretrained={tag!r}"
        if tag
        else f"no published weights are known for {model!r}"
    )
    return ClipWeightsMissing(
        f"CLIP weights file {path} not found (looked at {os.path.abspath(path)}); copy the file there, {how}"
    )


def _looks_like_path(pretrained: str) -> bool:
    return (
        pretrained.lower().endswith(_WEIGHT_SUFFIXES)
        or os.sep in pretrained
        or "/" in pretrained
        or os.path.isfile(pretrained)
    )


def _check_model_name(model: str) -> None:
    import open_clip

    names = open_clip.list_models()
    if model not in names:
        same_but_case = [n for n in names if n.lower() == model.lower()]
        near = same_but_case + [
            n for n in difflib.get_close_matches(model, names, n=5, cutoff=0.5) if n not in same_but_case
        ]
        hint = f"did you mean {', '.join(near)}? " if near else ""
        raise UserError(
            f"clip model: unknown open_clip model {model!r}; {hint}"
            f"see open_clip.list_models() ({len(names)} names, e.g. ViT-B-32, ViT-L-14)"
        )


def _check_hf_text_parts(model: str, pretrained: str | None) -> None:
    """Models with a Hugging Face text tower or tokenizer load it by name from the default HF
    cache (transformers ignores open_clip's cache_dir there): it must be cached too."""
    import open_clip

    text_cfg = open_clip.get_model_config(model).get("text_cfg", {})
    needed = {text_cfg.get("hf_model_name"): "config.json", text_cfg.get("hf_tokenizer_name"): "tokenizer_config.json"}
    cache = hf_hub_cache()
    tag = pretrained if pretrained and not _looks_like_path(pretrained) else DEFAULT_PRETRAINED
    for repo_id, name in needed.items():
        if repo_id and not _find_in_hf_cache(repo_id, name, cache):
            raise ClipWeightsMissing(
                f"CLIP model {model} needs the Hugging Face repo {repo_id} ({name}), not in {cache}; "
                f"fetch it on a connected machine with: {fetch_command(model, tag)}"
            )


# --------------------------------------------------------------------------------------------
# Scoring


def _to_pil(images: "torch.Tensor | np.ndarray") -> list[Any]:
    """uint8 RGB [B, H, W, 3] -> PIL images, so open_clip's transform does the only rescaling."""
    import numpy as np
    from PIL import Image

    array = images.detach().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[-1] != 3:
        raise ValueError(
            f"clip_score: images must be uint8 RGB [B, H, W, 3], got dtype {array.dtype} shape {tuple(array.shape)}"
        )
    return [Image.fromarray(np.ascontiguousarray(img)) for img in array]


def _context_length(tokenizer: Any, model: Any) -> int:
    return int(getattr(tokenizer, "context_length", None) or getattr(model, "context_length", None) or 77)


def truncated_flags(tokenizer: Callable[..., "torch.Tensor"], texts: Sequence[str], context_length: int) -> list[bool]:
    """Which texts do not fit ``context_length`` tokens (open_clip tokenizers cut them silently).

    Tokenizes once more with one extra slot: position ``context_length`` holds a real token (the
    cut-off end token, or more text) exactly when the text is longer than the context. The pad id is
    read from an empty text, so this works for every open_clip tokenizer (BPE pads with 0, HF ones
    with their own id).
    """
    wide = tokenizer(list(texts) + [""], context_length=context_length + 1)
    pad = wide[-1, context_length]
    return [bool(v) for v in (wide[:-1, context_length] != pad).tolist()]


@dataclass(frozen=True, eq=False)
class ClipScorer:
    """An open_clip model with its own preprocess and tokenizer, loaded once per run."""

    model: Any
    preprocess: Callable[[Any], "torch.Tensor"]
    tokenizer: Callable[..., "torch.Tensor"]
    name: str
    random_weights: bool
    device: str = "cpu"

    @classmethod
    def load(
        cls,
        model: str = DEFAULT_MODEL,
        pretrained: str | None = DEFAULT_PRETRAINED,
        device: str = "cpu",
        cache_dir: str | None = None,
        offline: bool = False,
    ) -> "ClipScorer":
        """Build ``model`` with weights from a local file, the cache or a download (never when offline).

        ``pretrained``: a tag (``open_clip.list_pretrained_tags_by_model(model)``), a path to a
        .safetensors/.bin/.pt file, or None for random weights (flagged ``random_weights``).
        ``cache_dir``: look there instead of the default caches (as open_clip's own argument).
        A tag brings its own preprocessing and QuickGELU setting; a bare file does not, so OpenAI
        weights given as a file need the ``-quickgelu`` model name (e.g. ``ViT-B-32-quickgelu``).
        """
        _check_model_name(model)
        path, tag_cfg = _resolve_weights(model, pretrained, cache_dir, offline)
        _check_hf_text_parts(model, pretrained)
        return cls._build(model, pretrained, path, tag_cfg, device)

    @classmethod
    def _build(
        cls, model: str, pretrained: str | None, path: str | None, tag_cfg: dict[str, Any], device: str
    ) -> "ClipScorer":
        import open_clip

        try:
            clip, _, preprocess = open_clip.create_model_and_transforms(
                model,
                pretrained=path,
                device=device,
                # a tag's preprocessing and activation, as open_clip applies them for tags
                force_quick_gelu=bool(tag_cfg.get("quick_gelu", False)),
                image_mean=tag_cfg.get("mean"),
                image_std=tag_cfg.get("std"),
                image_interpolation=tag_cfg.get("interpolation"),
                image_resize_mode=tag_cfg.get("resize_mode"),
            )
        except Exception as err:  # a file for another architecture fails in many ways (shape
            if path is None:  # asserts, missing keys, unreadable file): name file and model
                raise
            first = (str(err).splitlines() or [""])[0]
            raise UserError(
                f"clip pretrained: could not load weights {path} into model {model!r} "
                f"(wrong architecture or unreadable file): "
                f"{type(err).__name__}: {first}"
            ) from err
        tokenizer = _offline_tokenizer(model)
        name = f"{model}/{pretrained}" if pretrained else f"{model}/random"
        return cls.from_model(clip, preprocess, tokenizer, name, random_weights=pretrained is None, device=device)

    @classmethod
    def from_model(
        cls,
        model: Any,
        preprocess: Callable[[Any], "torch.Tensor"],
        tokenizer: Callable[..., "torch.Tensor"],
        name: str,
        *,
        random_weights: bool = True,
        device: str = "cpu",
    ) -> "ClipScorer":
        """Wrap an already built open_clip model (tests, random-weight models).

        ``random_weights`` defaults to True: numbers are flagged not meaningful unless the caller
        vouches for the weights. The model is put in eval mode (no dropout while scoring).
        """
        model.eval()
        return cls(model, preprocess, tokenizer, name, random_weights, device)

    def score(self, images: "torch.Tensor | np.ndarray", prompts: Sequence[str]) -> ClipResult:
        """100*cos(image, prompt) per image: one batched forward for images, one for unique prompts."""
        import torch

        pil = _to_pil(images)
        if len(prompts) != len(pil):
            raise ValueError(f"clip_score: {len(pil)} images but {len(prompts)} prompts; give one prompt per image")
        if not pil:
            return ClipResult([], [], self.name, self.random_weights)
        unique = list(dict.fromkeys(prompts))
        index = torch.tensor([unique.index(p) for p in prompts], device=self.device)
        context = _context_length(self.tokenizer, self.model)
        cut = truncated_flags(self.tokenizer, unique, context)
        pixels = torch.stack([self.preprocess(img) for img in pil]).to(self.device)
        tokens = self.tokenizer(unique, context_length=context).to(self.device)
        with torch.inference_mode():
            img = torch.nn.functional.normalize(self.model.encode_image(pixels).float(), dim=-1)
            txt = torch.nn.functional.normalize(self.model.encode_text(tokens).float(), dim=-1)
            scores = 100.0 * (img * txt[index]).sum(dim=-1)
        return ClipResult(
            [float(s) for s in scores.cpu().tolist()], [cut[i] for i in index.tolist()], self.name, self.random_weights
        )


def _resolve_weights(
    model: str, pretrained: str | None, cache_dir: str | None, offline_flag: bool = False
) -> tuple[str | None, dict[str, Any]]:
    """(local weights path or None for random, the tag's config or {})."""
    if pretrained is None:
        return None, {}
    if os.path.isfile(pretrained):
        return pretrained, {}
    if _looks_like_path(pretrained):
        raise _missing_file(model, pretrained)
    return _resolve_tag(model, pretrained, cache_dir, offline_flag)


def _offline_tokenizer(model: str) -> Callable[..., "torch.Tensor"]:
    """open_clip's tokenizer for ``model``; HF tokenizers are read from the cache only."""
    import open_clip

    text_cfg = open_clip.get_model_config(model).get("text_cfg", {})
    if text_cfg.get("hf_tokenizer_name"):
        return open_clip.get_tokenizer(model, cache_dir=str(hf_hub_cache()), local_files_only=True)
    return open_clip.get_tokenizer(model)
