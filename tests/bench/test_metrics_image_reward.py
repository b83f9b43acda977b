"""ImageReward on a checkpoint made here in the published format (THUDM/ImageReward's key names, small widths).

The scorer's value is checked against an independent forward pass written below in plain torch from BLIP's
architecture (Li et al. 2022: timm-style pre-norm ViT; BERT with post-norm self- and cross-attention) and
ImageReward's head and normalisation; the downloads against a loopback hub; a broken file against the
run going on. (perf/image_reward_parity.py checks the full-size model against the image-reward package.)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml
from hub_server import hub_server
from PIL import Image

import bench
from bench.cli import main
from bench.metrics.image_reward import load_image_reward
from bench.metrics.quality_settings import ScorerSettings
from bench.metrics.weights import WeightsMissing

WORDS = ["a", "red", "circle", "green", "square", "photo", "of", "cat", "##s"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS
WIDTH, DEPTH, PATCH, IMAGE = 128, 2, 16, 32  # vision: 2 heads of 64, 2x2 patches
MED = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 48,
    "vocab_size": len(VOCAB) + 2,  # + BLIP's [DEC] and [ENC]
    "max_position_embeddings": 40,
    "layer_norm_eps": 1e-12,
    "hidden_act": "gelu",
    "pad_token_id": 0,
    "encoder_width": 768,  # BLIP_Pretrain replaces it by the ViT's width
    "add_cross_attention": True,
}
HEAD = [32, 24, 16, 8, 4, 1]
PROMPTS = ["a red circle", "a photo of a cat", "a green square"]


def _checkpoint(seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors under the published checkpoint's names (ImageReward.pt holds model.state_dict())."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape: int, scale: float = 0.2, centre: float = 0.0) -> torch.Tensor:
        return centre + scale * torch.randn(*shape, generator=g)

    sd: dict[str, torch.Tensor] = {}
    v = "blip.visual_encoder."
    sd[v + "cls_token"] = r(1, 1, WIDTH)
    sd[v + "pos_embed"] = r(1, (IMAGE // PATCH) ** 2 + 1, WIDTH)
    sd[v + "patch_embed.proj.weight"] = r(WIDTH, 3, PATCH, PATCH, scale=0.05)
    sd[v + "patch_embed.proj.bias"] = r(WIDTH)
    for i in range(DEPTH):
        b = f"{v}blocks.{i}."
        for norm in ("norm1", "norm2"):
            sd[b + norm + ".weight"], sd[b + norm + ".bias"] = r(WIDTH, scale=0.1, centre=1.0), r(WIDTH, scale=0.1)
        sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"] = r(3 * WIDTH, WIDTH, scale=0.1), r(3 * WIDTH)
        sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"] = r(WIDTH, WIDTH, scale=0.1), r(WIDTH)
        sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"] = r(4 * WIDTH, WIDTH, scale=0.1), r(4 * WIDTH)
        sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"] = r(WIDTH, 4 * WIDTH, scale=0.05), r(WIDTH)
    sd[v + "norm.weight"], sd[v + "norm.bias"] = r(WIDTH, scale=0.1, centre=1.0), r(WIDTH, scale=0.1)
    t, hid, inner = "blip.text_encoder.", MED["hidden_size"], MED["intermediate_size"]
    sd[t + "embeddings.word_embeddings.weight"] = r(MED["vocab_size"], hid)
    sd[t + "embeddings.position_embeddings.weight"] = r(MED["max_position_embeddings"], hid)
    sd[t + "embeddings.position_ids"] = torch.arange(MED["max_position_embeddings"]).expand(1, -1)
    sd[t + "embeddings.LayerNorm.weight"], sd[t + "embeddings.LayerNorm.bias"] = r(hid, centre=1.0), r(hid)
    for i in range(MED["num_hidden_layers"]):
        b = f"{t}encoder.layer.{i}."
        for block, kv_width in (("attention.", hid), ("crossattention.", WIDTH)):
            sd[b + block + "self.query.weight"], sd[b + block + "self.query.bias"] = r(hid, hid), r(hid)
            sd[b + block + "self.key.weight"], sd[b + block + "self.key.bias"] = r(hid, kv_width), r(hid)
            sd[b + block + "self.value.weight"], sd[b + block + "self.value.bias"] = r(hid, kv_width), r(hid)
            sd[b + block + "output.dense.weight"], sd[b + block + "output.dense.bias"] = r(hid, hid), r(hid)
            sd[b + block + "output.LayerNorm.weight"] = r(hid, scale=0.1, centre=1.0)
            sd[b + block + "output.LayerNorm.bias"] = r(hid, scale=0.1)
        sd[b + "intermediate.dense.weight"], sd[b + "intermediate.dense.bias"] = r(inner, hid), r(inner)
        sd[b + "output.dense.weight"], sd[b + "output.dense.bias"] = r(hid, inner), r(hid)
        sd[b + "output.LayerNorm.weight"], sd[b + "output.LayerNorm.bias"] = r(hid, centre=1.0), r(hid)
    for index, (a, b) in zip((0, 2, 4, 6, 7), zip(HEAD, HEAD[1:])):
        sd[f"mlp.layers.{index}.weight"], sd[f"mlp.layers.{index}.bias"] = r(b, a, scale=0.5), r(b)
    sd["blip.vision_proj.weight"], sd["blip.text_proj.weight"] = r(16, WIDTH), r(16, hid)  # unused by scoring
    return sd


def _attention(q_in, kv_in, w, prefix, heads, mask):
    """BERT attention (scores / sqrt(d) + additive mask, softmax) and its output dense."""
    q, k, v = (F.linear(x, w[prefix + f"self.{n}.weight"], w[prefix + f"self.{n}.bias"]) for n, x in
               (("query", q_in), ("key", kv_in), ("value", kv_in)))  # fmt: skip
    split = lambda x: x.reshape(x.shape[0], x.shape[1], heads, -1).transpose(1, 2)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores + mask
    out = (scores.softmax(-1) @ v).transpose(1, 2).reshape(q_in.shape)
    return F.linear(out, w[prefix + "output.dense.weight"], w[prefix + "output.dense.bias"])


def reference_rewards(sd, pixels: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> list[float]:
    """ImageReward's score from the published names, written from the papers' architecture."""

    def ln(x, name, eps):
        return F.layer_norm(x, (x.shape[-1],), sd[name + ".weight"], sd[name + ".bias"], eps)

    v = "blip.visual_encoder."
    x = F.conv2d(pixels, sd[v + "patch_embed.proj.weight"], sd[v + "patch_embed.proj.bias"], stride=PATCH)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([sd[v + "cls_token"].expand(len(x), -1, -1), x], 1) + sd[v + "pos_embed"]
    heads = WIDTH // 64
    for i in range(DEPTH):
        b = f"{v}blocks.{i}."
        h = ln(x, b + "norm1", 1e-6)
        qkv = F.linear(h, sd[b + "attn.qkv.weight"], sd[b + "attn.qkv.bias"])
        q, k, val = qkv.reshape(len(x), x.shape[1], 3, heads, -1).permute(2, 0, 3, 1, 4)
        a = ((q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5).softmax(-1) @ val
        x = x + F.linear(a.transpose(1, 2).reshape(x.shape), sd[b + "attn.proj.weight"], sd[b + "attn.proj.bias"])
        h = F.gelu(F.linear(ln(x, b + "norm2", 1e-6), sd[b + "mlp.fc1.weight"], sd[b + "mlp.fc1.bias"]))
        x = x + F.linear(h, sd[b + "mlp.fc2.weight"], sd[b + "mlp.fc2.bias"])
    image = ln(x, v + "norm", 1e-6)

    t = "blip.text_encoder."
    e = (
        sd[t + "embeddings.word_embeddings.weight"][ids]
        + sd[t + "embeddings.position_embeddings.weight"][: ids.shape[1]]
    )
    e = ln(e, t + "embeddings.LayerNorm", 1e-12)
    additive = (1.0 - mask[:, None, None, :].float()) * -10000.0  # BERT's extended attention mask
    for i in range(MED["num_hidden_layers"]):
        b = f"{t}encoder.layer.{i}."
        e = ln(_attention(e, e, sd, b + "attention.", 2, additive) + e, b + "attention.output.LayerNorm", 1e-12)
        c = _attention(e, image, sd, b + "crossattention.", 2, None)
        e = ln(c + e, b + "crossattention.output.LayerNorm", 1e-12)
        f = F.gelu(F.linear(e, sd[b + "intermediate.dense.weight"], sd[b + "intermediate.dense.bias"]))
        e = ln(
            F.linear(f, sd[b + "output.dense.weight"], sd[b + "output.dense.bias"]) + e, b + "output.LayerNorm", 1e-12
        )
    r = e[:, 0]
    for index in (0, 2, 4, 6, 7):  # ImageReward's MLP has no activations (they are commented out)
        r = F.linear(r, sd[f"mlp.layers.{index}.weight"], sd[f"mlp.layers.{index}.bias"])
    return ((r.squeeze(-1) - 0.16717362830052426) / 1.0333394966054072).tolist()


def _write_model(folder: Path, seed: int = 0) -> dict[str, torch.Tensor]:
    folder.mkdir(parents=True, exist_ok=True)
    sd = _checkpoint(seed)
    torch.save(sd, folder / "ImageReward.pt")
    (folder / "med_config.json").write_text(json.dumps(MED))
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return sd


def images(n: int, seed: int = 0, size: int = 48) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size + 16, 3), dtype=np.uint8)


def _pixels(imgs: np.ndarray) -> torch.Tensor:
    """ImageReward's preprocessing: bicubic resize of the short side, centre crop, CLIP's mean and std."""
    from torchvision import transforms

    t = transforms.Compose(
        [
            transforms.Resize(IMAGE, interpolation=transforms.InterpolationMode.BICUBIC),
            transforms.CenterCrop(IMAGE),
            transforms.ToTensor(),
            transforms.Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
        ]
    )
    return torch.stack([t(Image.fromarray(i)) for i in imgs])


def test_reward_equals_an_independent_forward_of_the_published_checkpoint(tmp_path: Path) -> None:
    sd = _write_model(tmp_path / "ir")
    folder = str(tmp_path / "ir")
    scorer = load_image_reward(ScorerSettings(folder, str(tmp_path / "ir" / "ImageReward.pt"), folder))
    assert not scorer.random_weights
    imgs = images(3)
    got, cut = scorer.score(imgs, PROMPTS)
    text = scorer.tokenizer(PROMPTS, padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    assert text["input_ids"][0, :5].tolist() == [2, 5, 6, 7, 3]  # [CLS] a red circle [SEP]: BERT's WordPiece
    with torch.inference_mode():
        expected = reference_rewards(sd, _pixels(imgs), text["input_ids"], text["attention_mask"])
    assert got == pytest.approx(expected, abs=1e-4)
    assert len(set(np.round(got, 4))) == 3 and cut == [False] * 3
    assert scorer.score(imgs[:1], ["a red circle " * 12])[1] == [True]  # over 35 tokens: flagged


def test_foreign_or_broken_checkpoints_are_weights_missing_naming_the_file(tmp_path: Path) -> None:
    _write_model(tmp_path / "ir")
    folder = str(tmp_path / "ir")
    (tmp_path / "junk.pt").write_bytes(b"\x80\x04 not a pickle")
    foreign = _checkpoint()
    foreign["blip.visual_encoder.extra.weight"] = torch.zeros(1)
    torch.save(foreign, tmp_path / "foreign.pt")
    for name, says in (("junk.pt", "not an ImageReward checkpoint"), ("foreign.pt", "unexpected key")):
        with pytest.raises(WeightsMissing, match=says) as info:
            load_image_reward(ScorerSettings(folder, str(tmp_path / name), folder))
        assert name in str(info.value)


def test_files_come_from_the_hub_once_and_offline_never_touches_it(tmp_path: Path, monkeypatch) -> None:
    sd = _write_model(tmp_path / "ir")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.cache/ImageReward
    settings = ScorerSettings("THUDM/ImageReward", "ImageReward.pt", "google-bert/bert-base-uncased")
    with hub_server() as server:
        for name in ("ImageReward.pt", "med_config.json"):
            server.add_hub_file("THUDM/ImageReward", name, (tmp_path / "ir" / name).read_bytes())
        server.add_hub_file("google-bert/bert-base-uncased", "vocab.txt", (tmp_path / "ir" / "vocab.txt").read_bytes())
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        with pytest.raises(WeightsMissing, match="offline"):  # conftest sets HF_HUB_OFFLINE=1
            load_image_reward(settings)
        assert server.requests == []
        monkeypatch.delenv("HF_HUB_OFFLINE")
        import huggingface_hub.constants

        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # it read the variable at import
        fetched = load_image_reward(settings)
        got = [r for r in server.requests if r[0] == "GET"]
        assert {p.rsplit("/", 1)[-1] for _, p in got} >= {"ImageReward.pt", "med_config.json", "vocab.txt"}
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        cached = load_image_reward(settings)  # from the hub cache now, offline
    imgs = images(2, seed=4)
    text = fetched.tokenizer(PROMPTS[:2], padding="max_length", truncation=True, max_length=35, return_tensors="pt")
    with torch.inference_mode():
        expected = reference_rewards(sd, _pixels(imgs), text["input_ids"], text["attention_mask"])
    assert fetched.score(imgs, PROMPTS[:2])[0] == pytest.approx(expected, abs=1e-4)
    assert cached.score(imgs, PROMPTS[:2])[0] == pytest.approx(expected, abs=1e-4)


def _bench_file(tmp_path: Path, quality: dict) -> Path:
    config = {
        "prompts": ["a red circle", "a green square"],
        "seeds": [1, 2],
        "samplers": ["Euler"],
        "steps": [3],
        "size": [8, 8],
        "metrics": ["ode_error", "image_reward"],
        "quality": {"image_reward": quality},
        "output": "run",
    }
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_a_run_stores_image_reward_per_image(tmp_path: Path) -> None:
    _write_model(tmp_path / "ir")
    path = _bench_file(tmp_path, {"model": "ir", "weights": "ir/ImageReward.pt", "processor": "ir"})
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert frame.image_reward.notna().all() and frame.image_reward.nunique() == 4
    folder = str(tmp_path / "ir")
    scorer = load_image_reward(ScorerSettings(folder, str(tmp_path / "ir" / "ImageReward.pt"), folder))
    stored = np.stack([np.asarray(Image.open(tmp_path / "run" / p)) for p in frame.image])
    assert frame.image_reward.tolist() == pytest.approx(scorer.score(stored, frame.prompt.tolist())[0], rel=1e-5)


def test_a_broken_checkpoint_is_a_warning_and_the_run_goes_on(tmp_path: Path, capsys) -> None:
    _write_model(tmp_path / "ir")
    (tmp_path / "ir" / "ImageReward.pt").write_bytes(b"PK\x03\x04 truncated")
    path = _bench_file(tmp_path, {"model": "ir", "weights": "ir/ImageReward.pt", "processor": "ir"})
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert "image_reward" not in frame.columns and frame.ode_error.notna().all()
    err = capsys.readouterr().err
    assert "image_reward not measured" in err and "ImageReward.pt is not an ImageReward checkpoint" in err


@pytest.mark.slow
def test_random_weights_build_vit_large_and_are_flagged(tmp_path: Path) -> None:
    _write_model(tmp_path / "ir")
    path = _bench_file(tmp_path, {"model": "ir", "weights": "random", "processor": "ir"})
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert frame.image_reward.notna().all()
    assert all(any("image_reward: random weights" in n for n in notes) for notes in frame.notes)
    scorer = load_image_reward(ScorerSettings(str(tmp_path / "ir"), "random", str(tmp_path / "ir")))
    vision = scorer.model.vision.config  # ImageReward's create_vit('large', 224)
    assert (vision.hidden_size, vision.num_hidden_layers, vision.num_attention_heads, vision.image_size) == (
        1024,
        24,
        16,
        224,
    )
