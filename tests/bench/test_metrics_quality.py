"""HPS v2.1, PickScore, LPIPS, FID and KID on weights made in the test: the real code paths, no faked numbers."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import open_clip
import pytest
import torch
import yaml
from hub_server import hub_server
from PIL import Image

import bench
from bench.cli import main
from bench.metrics import distribution as dist
from bench.metrics.preference import load_hps, load_pick
from bench.metrics.quality_settings import ScorerSettings

TINY = "samplerbench-quality-tiny-clip"
TINY_CFG = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
PROMPTS = ["a red circle", "a green square", "a red circle"]


def images(n: int, seed: int = 0, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def write(tmp_path: Path, **overrides) -> Path:
    config = {
        "prompts": ["a red circle", "a green square"],
        "seeds": [1, 2],
        "samplers": ["Euler", "DPM++ 2M"],
        "steps": [3],
        "size": [8, 8],
        "output": "run",
    }
    config.update(overrides)
    path = tmp_path / "b.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def meta(run_dir: Path) -> dict:
    with sqlite3.connect(run_dir / "results.sqlite") as db:
        return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


def stored_images(run_dir: Path, frame) -> np.ndarray:
    return np.stack([np.asarray(Image.open(run_dir / p)) for p in frame.image])


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("clip_configs")
    (folder / f"{TINY}.json").write_text(json.dumps(TINY_CFG))
    open_clip.add_model_config(folder)
    return TINY


# ------------------------------------------------------------------------------------------------ HPS


@pytest.fixture(scope="module")
def hps_file(tiny_clip: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    """An HPS-format checkpoint ({'state_dict': ...}) of the tiny architecture, and the model it holds."""
    torch.manual_seed(3)
    model = open_clip.create_model(tiny_clip, pretrained=None).eval()
    path = tmp_path_factory.mktemp("hps") / "HPS_v2.1_compressed.pt"
    torch.save({"state_dict": model.state_dict()}, path)
    return path, model


def _cosines(model, preprocess, prompts, imgs) -> list[float]:
    pixels = torch.stack([preprocess(Image.fromarray(i)) for i in imgs])
    with torch.inference_mode():
        a = torch.nn.functional.normalize(model.encode_image(pixels), dim=-1)
        b = torch.nn.functional.normalize(model.encode_text(open_clip.get_tokenizer(TINY)(prompts)), dim=-1)
    return (a * b).sum(-1).tolist()


def test_hps_is_the_cosine_of_the_checkpoint_model(hps_file, tiny_clip: str) -> None:
    path, model = hps_file
    scorer = load_hps(ScorerSettings(tiny_clip, str(path)))
    assert not scorer.random_weights
    imgs = images(3)
    _, _, preprocess = open_clip.create_model_and_transforms(tiny_clip, pretrained=None)
    expected = _cosines(model, preprocess, PROMPTS, imgs)
    got = [s / 100 for s in scorer.score(imgs, PROMPTS).scores]
    assert got == pytest.approx(expected, abs=1e-5)
    assert max(abs(v) for v in got) <= 1.0 and len(set(np.round(got, 6))) == 3


def test_hps_checkpoint_is_downloaded_from_the_hub_layout(hps_file, tiny_clip: str, tmp_path, monkeypatch) -> None:
    path, _ = hps_file
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with hub_server() as server:
        server.add_hub_file("xswu/HPSv2", "HPS_v2.1_compressed.pt", path.read_bytes())
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        scorer = load_hps(ScorerSettings(tiny_clip, "HPS_v2.1_compressed.pt"))
    local = load_hps(ScorerSettings(tiny_clip, str(path)))
    assert scorer.score(images(2), PROMPTS[:2]).scores == pytest.approx(local.score(images(2), PROMPTS[:2]).scores)


# ------------------------------------------------------------------------------------------ PickScore


def _tiny_pick_folder(folder: Path, save_weights: bool) -> object:
    """A CLIPModel and CLIPProcessor small enough for a test (CLIP's real BPE, a 32-wide model)."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from bench.models.sd_tokenizer import clip_tokenizer

    tokenizer = clip_tokenizer()
    vocab = tokenizer.get_vocab()
    folder.mkdir(parents=True, exist_ok=True)
    processor = CLIPProcessor(
        CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}), tokenizer
    )
    processor.save_pretrained(folder)
    config = CLIPConfig(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "vocab_size": len(vocab),
            "max_position_embeddings": 77,
            "bos_token_id": len(vocab) - 2,
            "eos_token_id": len(vocab) - 1,
            "pad_token_id": len(vocab) - 1,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_attention_heads": 2,
            "num_hidden_layers": 1,
            "image_size": 32,
            "patch_size": 16,
        },
        projection_dim=16,
    )
    torch.manual_seed(5)
    model = CLIPModel(config).eval()
    if save_weights:
        model.save_pretrained(folder)
    else:
        config.save_pretrained(folder)
    return model


@pytest.mark.slow
def test_pick_score_is_logit_scale_times_cosine(tmp_path: Path) -> None:
    model = _tiny_pick_folder(tmp_path / "pick", save_weights=True)
    folder = str(tmp_path / "pick")
    scorer = load_pick(ScorerSettings(folder, "", folder))
    assert not scorer.random_weights
    imgs = images(3, seed=1)
    scores, cut = scorer.score(imgs, PROMPTS)
    inputs = scorer.processor(
        text=PROMPTS, images=[Image.fromarray(i) for i in imgs], return_tensors="pt", padding=True
    )
    with torch.inference_mode():
        out = model(**inputs)
    expected = (model.logit_scale.exp() * (out.image_embeds * out.text_embeds).sum(-1)).tolist()
    assert scores == pytest.approx(expected, abs=1e-4)
    assert cut == [False] * 3
    assert scorer.score(imgs, ["a " * 100] * 3)[1] == [True] * 3  # longer than 77 tokens: flagged


# ---------------------------------------------------------------------------------------------- LPIPS


@pytest.mark.slow
def test_lpips_backbone_comes_from_the_torch_cache_and_distance_is_zero_to_itself(tmp_path, monkeypatch) -> None:
    import torchvision

    from bench.metrics.perceptual import distances, load_lpips

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    checkpoints = tmp_path / "torch" / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.manual_seed(7)
    backbone = torchvision.models.alexnet(weights=None)
    torch.save(backbone.state_dict(), checkpoints / "alexnet-owt-7be5be79.pth")  # test-made, in the cache
    model = load_lpips(ScorerSettings("alex"))  # offline (conftest): read from the cache, not the network
    assert not model.random_weights
    assert torch.equal(model.net.slice1[0].weight, backbone.features[0].weight)
    a, b = images(2, seed=2, size=24), images(2, seed=3, size=24)
    same, other = distances(model, a, a), distances(model, a, b)
    assert same == pytest.approx([0.0, 0.0], abs=1e-6) and min(other) > 0


# ------------------------------------------------------------------------------------------- FID, KID


def test_frechet_distance_and_kid_formulas() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(40, 3)), rng.normal(1.0, 1.0, size=(50, 3))
    mu_a, s_a = dist.statistics(a)
    assert dist.frechet_distance(mu_a, s_a, mu_a, s_a) == pytest.approx(0.0, abs=1e-6)
    from pytorch_fid.fid_score import calculate_frechet_distance  # the reference implementation (scipy sqrtm)

    mu_b, s_b = dist.statistics(b)
    assert dist.frechet_distance(mu_a, s_a, mu_b, s_b) == pytest.approx(
        calculate_frechet_distance(mu_a, s_a, mu_b, s_b)
    )
    # diagonal covariances: FID = |dmu|^2 + sum (sa + sb - 2 sqrt(sa sb))
    d = dist.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.ones(2), np.diag([4.0, 9.0]))
    assert d == pytest.approx(2 + (1 + 4 - 4) + (4 + 9 - 12))
    x, y = a[:6], b[:6]
    k = lambda p, q: (p @ q / 3 + 1) ** 3
    naive = (
        sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
        + sum(k(y[i], y[j]) for i in range(6) for j in range(6) if i != j) / 30
        - 2 * sum(k(x[i], y[j]) for i in range(6) for j in range(6)) / 36
    )
    assert dist.kid(x, y) == pytest.approx(naive)
    assert abs(dist.kid(a[:20], a[20:])) < dist.kid(a, b)  # same distribution: near 0


@pytest.fixture
def fid_weights_in_cache(tmp_path: Path, monkeypatch) -> Path:
    """pytorch-fid's architecture with test-made weights (batch-norm variances that keep features O(1)),
    saved where the published file would be cached."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(11)
    state = dist.FidInception(random=True).net.state_dict()
    for key in state:
        if key.endswith("running_var"):
            state[key].fill_(0.15)
    path = tmp_path / "torch" / "hub" / "checkpoints" / "pt_inception-2015-12-05-6726825d.pth"
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    return path


def test_statistics_file_is_read_and_checked(tmp_path: Path) -> None:
    np.savez(tmp_path / "stats.npz", mu=np.arange(3.0), sigma=np.eye(3))
    mu, sigma = dist.load_statistics(str(tmp_path / "stats.npz"))
    assert mu.tolist() == [0.0, 1.0, 2.0] and sigma.shape == (3, 3)
    np.savez(tmp_path / "bad.npz", mean=np.zeros(3))
    with pytest.raises(ValueError, match="has no mu or sigma array"):
        dist.load_statistics(str(tmp_path / "bad.npz"))


@pytest.mark.slow
def test_fid_and_kid_per_sampler_against_a_folder(tmp_path, fid_weights_in_cache) -> None:
    inception = dist.FidInception()
    assert not inception.random_weights
    folder = tmp_path / "coco"
    folder.mkdir()
    for i, image in enumerate(images(4, seed=9, size=40)):
        Image.fromarray(image).save(folder / f"{i}.png")
    ref = inception.features(dist.folder_images(str(folder)))
    mu, sigma = dist.statistics(ref)
    root = dist.psd_sqrt(sigma)
    path = write(tmp_path, metrics=["fid", "kid"], quality={"fid": {"reference": "coco"}}, prompts=["a red circle"])
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0
    frame = bench.load_results(tmp_path / "run")
    for _, part in frame.groupby("sampler"):
        feats = inception.features(stored_images(tmp_path / "run", part))
        expected = dist.frechet_distance(*dist.statistics(feats), mu, sigma, root)
        assert part.fid.tolist() == pytest.approx([expected] * 2, rel=1e-4)  # one value over the set
        assert part.kid.tolist() == pytest.approx([dist.kid(feats, ref)] * 2, rel=1e-4, abs=1e-9)
    assert frame.groupby("sampler").fid.first().nunique() == 2
    assert all(any(n.startswith("fid: over 2 images") for n in notes) for notes in frame.notes)
    assert "fid" not in meta(tmp_path / "run").get("metric_random_weights", [])


@pytest.mark.slow
def test_random_weights_are_flagged_in_notes_meta_and_report(tmp_path, tiny_clip: str) -> None:
    path = write(
        tmp_path,
        metrics=["ode_error", "hps", "lpips", "fid", "kid"],
        quality={
            "hps": {"model": tiny_clip, "weights": "random"},
            "lpips": {"weights": "random"},
            "fid": {"weights": "random"},
        },
        samplers=["Euler"],
        prompts=["a red circle"],
    )
    assert main(["run", str(path), "--no-progress"]) == 0
    frame = bench.load_results(tmp_path / "run")
    assert frame[["hps", "lpips", "fid", "kid"]].notna().all().all()
    assert all(any("random weights" in n for n in notes) for notes in frame.notes)
    info = meta(tmp_path / "run")
    assert info["metric_random_weights"] == ["fid", "hps", "kid", "lpips"]
    assert any("computed with random weights" in w for w in info["warnings"])
    html = (tmp_path / "run" / "report.html").read_text()
    assert "HPS v2.1 is not used for the recommendation: its own model has random weights" in html


def test_missing_package_or_weights_warn_and_the_run_goes_on(tmp_path, capsys) -> None:
    path = write(tmp_path, metrics=["ode_error", "hps"], samplers=["Euler"], prompts=["a red circle"])
    assert main(["run", str(path), "--no-progress", "--no-report"]) == 0  # offline (conftest): no HPS weights
    frame = bench.load_results(tmp_path / "run")
    assert "hps" not in frame.columns and frame.ode_error.notna().all()
    warning = [w for w in meta(tmp_path / "run")["warnings"] if w.startswith("hps not measured")]
    assert len(warning) == 1 and "xswu/HPSv2/HPS_v2.1_compressed.pt" in warning[0] and "offline" in warning[0]
    assert "hps not measured" in capsys.readouterr().err
