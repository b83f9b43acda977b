"""CLIP score on a tiny random open_clip model: the formula, truncation, offline weight lookup."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from bench.errors import UserError
from bench.metrics.clip_score import ClipScorer, ClipWeightsMissing, fetch_command

TINY = "samplerbench-tiny-clip"
# ENVIRONMENT.md: width 64, 2 layers, 32 px images, about 3.4 M parameters
TINY_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def tiny_name(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("clip_configs")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder)
    return TINY


@pytest.fixture(scope="module")
def tiny(tiny_name: str) -> tuple:
    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms(tiny_name, pretrained=None)
    return model.eval(), preprocess, open_clip.get_tokenizer(tiny_name)


@pytest.fixture(scope="module")
def scorer(tiny: tuple) -> ClipScorer:
    model, preprocess, tokenizer = tiny
    return ClipScorer.from_model(model, preprocess, tokenizer, "tiny/random")


@pytest.fixture
def no_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home and empty caches: no weights anywhere."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def images(n: int, seed: int = 0, size: tuple[int, int] = (48, 40)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, *size, 3), dtype=np.uint8)


PROMPTS = ["a red circle on blue", "a green square", "a red circle on blue", "a cat", "", "a dog"]


def direct_scores(tiny: tuple, imgs: np.ndarray, prompts: list[str]) -> torch.Tensor:
    """100 * cos from the model's own encoders, one prompt per image, no de-duplication."""
    model, preprocess, tokenizer = tiny
    pixels = torch.stack([preprocess(Image.fromarray(img)) for img in imgs])
    with torch.no_grad():
        img = model.encode_image(pixels)
        txt = model.encode_text(tokenizer(prompts))
    img = img / img.norm(dim=-1, keepdim=True)
    txt = txt / txt.norm(dim=-1, keepdim=True)
    return 100 * torch.einsum("nd,nd->n", img, txt)


def test_score_is_100_cos_of_normalised_embeddings(scorer: ClipScorer, tiny: tuple) -> None:
    imgs = images(len(PROMPTS))
    result = scorer.score(imgs, PROMPTS)
    expected = direct_scores(tiny, imgs, PROMPTS)
    assert torch.allclose(torch.tensor(result.scores), expected, atol=1e-4)
    assert len(set(round(s, 3) for s in result.scores)) > 1  # depends on the inputs
    assert result.random_weights is True and result.model == "tiny/random"


def test_scores_in_range_and_torch_input_equals_numpy(scorer: ClipScorer) -> None:
    imgs = images(8, seed=1)
    prompts = [f"prompt number {i}" for i in range(8)]
    from_numpy = scorer.score(imgs, prompts).scores
    from_torch = scorer.score(torch.from_numpy(imgs), prompts).scores
    assert all(np.isfinite(from_numpy)) and all(-100.0 <= s <= 100.0 for s in from_numpy)
    assert from_torch == pytest.approx(from_numpy, abs=1e-5)


def test_batch_order_does_not_matter(scorer: ClipScorer) -> None:
    imgs = images(len(PROMPTS), seed=2)
    base = scorer.score(imgs, PROMPTS).scores
    perm = np.random.default_rng(3).permutation(len(PROMPTS))
    shuffled = scorer.score(imgs[perm], [PROMPTS[i] for i in perm]).scores
    assert shuffled == pytest.approx([base[i] for i in perm], abs=1e-4)
    single = scorer.score(imgs[perm[:1]], [PROMPTS[perm[0]]]).scores
    assert single == pytest.approx([base[perm[0]]], abs=1e-4)


def test_long_prompt_is_flagged_truncated(scorer: ClipScorer, tiny: tuple) -> None:
    tokenizer = tiny[2]
    # premise: "cat" is one BPE token, so n words take n + 2 slots (start and end tokens)
    assert len(tokenizer.encode(" ".join(["cat"] * 75))) == 75
    prompts = [
        " ".join(f"word{i}" for i in range(100)),
        "a short prompt",
        " ".join(["cat"] * 75),
        " ".join(["cat"] * 76),
    ]
    result = scorer.score(images(4), prompts)
    assert result.truncated == [True, False, False, True]


def test_load_random_weights_by_name(tiny_name: str) -> None:
    scorer = ClipScorer.load(tiny_name, pretrained=None)
    assert scorer.random_weights is True
    result = scorer.score(images(2), ["a", "b"])
    assert len(result.scores) == 2 and result.random_weights is True


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_local_weights_file_matches_in_memory_model(
    tiny_name: str, tiny: tuple, scorer: ClipScorer, tmp_path: Path, suffix: str
) -> None:
    model = tiny[0]
    path = tmp_path / f"tiny{suffix}"
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    loaded = ClipScorer.load(tiny_name, pretrained=str(path))
    assert loaded.random_weights is False
    imgs = images(len(PROMPTS), seed=4)
    assert loaded.score(imgs, PROMPTS).scores == pytest.approx(scorer.score(imgs, PROMPTS).scores, abs=1e-5)


def test_missing_cached_weights_raise_quickly_with_fetch_command(no_cache: Path) -> None:
    start = time.perf_counter()
    with pytest.raises(ClipWeightsMissing) as info:
        ClipScorer.load("ViT-B-32", pretrained="openai")
    assert time.perf_counter() - start < 5.0
    message = str(info.value)
    assert fetch_command("ViT-B-32", "openai") in message
    assert str(no_cache) in message  # says where it looked
    assert not isinstance(info.value, UserError)


def test_missing_local_file_raises_with_fetch_command(no_cache: Path) -> None:
    missing = no_cache / "nowhere" / "clip.safetensors"
    start = time.perf_counter()
    with pytest.raises(ClipWeightsMissing) as info:
        ClipScorer.load("ViT-B-32", pretrained=str(missing))
    assert time.perf_counter() - start < 5.0
    assert str(missing) in str(info.value)
    assert "open_clip.create_model_and_transforms('ViT-B-32'" in str(info.value)


def _hf_layout(cache: Path, file: Path) -> None:
    snapshot = cache / "models--timm--vit_base_patch32_clip_224.openai" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text("abc123")
    (snapshot / "open_clip_model.safetensors").write_bytes(file.read_bytes())


def _url_layout(cache: Path, file: Path) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "ViT-B-32.pt").write_bytes(file.read_bytes())


@pytest.mark.parametrize("layout", [_hf_layout, _url_layout])
def test_cached_file_is_found_and_a_mismatch_is_a_user_error(
    layout, tiny: tuple, tmp_path: Path, no_cache: Path
) -> None:
    """The tiny model's weights planted where the openai tag lives: found (not 'missing'), and
    rejected as weights of another architecture, which proves they were read."""
    from safetensors.torch import save_file

    weights = tmp_path / "tiny.safetensors"
    save_file({k: v.contiguous() for k, v in tiny[0].state_dict().items()}, str(weights))
    cache = tmp_path / "cache"
    layout(cache, weights)
    with pytest.raises(UserError, match="could not load weights .* into model 'ViT-B-32'"):
        ClipScorer.load("ViT-B-32", pretrained="openai", cache_dir=str(cache))


def test_unknown_model_is_a_user_error_with_suggestions() -> None:
    with pytest.raises(UserError, match="did you mean ViT-B-32"):
        ClipScorer.load("vit-b-32")
    with pytest.raises(UserError, match="ViT-B-32"):
        ClipScorer.load("ViT-B-33")


def test_unknown_tag_is_a_user_error_listing_tags(no_cache: Path) -> None:
    with pytest.raises(UserError, match="allowed tags: openai"):
        ClipScorer.load("ViT-B-32", pretrained="opnai")


def test_bad_inputs_are_rejected(scorer: ClipScorer) -> None:
    with pytest.raises(ValueError, match="uint8"):
        scorer.score(images(2).astype(np.float32), ["a", "b"])
    with pytest.raises(ValueError, match="2 images but 1 prompts"):
        scorer.score(images(2), ["a"])
    assert scorer.score(images(0), []).scores == []
