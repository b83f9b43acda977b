"""Seconds each quality metric adds per image on this machine, with the real architectures.

    python perf/quality_metrics.py [--images 4] [--size 512] [--only clip_score hps ...]

Weights are random (timing does not depend on their values, and this script must run offline): CLIP
ViT-B-32 (clip_score), open_clip ViT-H-14 (hps), a transformers CLIPModel of CLIP-H's shape (pick_score),
ImageReward's BLIP (ViT-L/16 and BERT-base with cross-attention; a made-up WordPiece vocabulary),
LPIPS-Alex to a second image (lpips), the FID Inception network's features (fid/kid: the per-set
Frechet/MMD step on top is milliseconds). Each metric is timed on `--images` images of `--size` px after
one warm-up call; the model's build time is printed apart (paid once per run). Images are random uint8.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

import numpy as np

PROMPTS = "a photograph of an astronaut riding a horse on the moon"


def clip_score() -> Callable[[np.ndarray], Any]:
    from bench.metrics.clip_score import ClipScorer

    scorer = ClipScorer.load("ViT-B-32", None)
    return lambda images: scorer.score(images, [PROMPTS] * len(images))


def hps() -> Callable[[np.ndarray], Any]:
    from bench.metrics.preference import load_hps
    from bench.metrics.quality_settings import ScorerSettings

    scorer = load_hps(ScorerSettings("ViT-H-14", "random"))
    return lambda images: scorer.score(images, [PROMPTS] * len(images))


def pick_score() -> Callable[[np.ndarray], Any]:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor

    from bench.metrics.preference import PickScorer
    from bench.models.sd_tokenizer import clip_tokenizer

    config = CLIPConfig(  # laion/CLIP-ViT-H-14-laion2B-s32B-b79K's shape
        text_config={
            "hidden_size": 1024,
            "intermediate_size": 4096,
            "num_attention_heads": 16,
            "num_hidden_layers": 24,
        },
        vision_config={
            "hidden_size": 1280,
            "intermediate_size": 5120,
            "num_attention_heads": 16,
            "num_hidden_layers": 32,
            "patch_size": 14,
            "image_size": 224,
        },
        projection_dim=1024,
    )
    processor = CLIPProcessor(CLIPImageProcessor(), clip_tokenizer())
    scorer = PickScorer(CLIPModel(config).eval(), processor, True)
    return lambda images: scorer.score(images, [PROMPTS] * len(images))


def image_reward() -> Callable[[np.ndarray], Any]:
    import json
    import tempfile
    from pathlib import Path

    from bench.metrics.image_reward import load_image_reward
    from bench.metrics.quality_settings import ScorerSettings

    folder = Path(tempfile.mkdtemp())
    med = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
    (folder / "med_config.json").write_text(json.dumps({**med, "vocab_size": 30524, "layer_norm_eps": 1e-12}))
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (folder / "vocab.txt").write_text("\n".join(specials + PROMPTS.split() + [f"w{i}" for i in range(30000)]))
    scorer = load_image_reward(ScorerSettings(str(folder), "random", str(folder)))
    return lambda images: scorer.score(images, [PROMPTS] * len(images))


def lpips() -> Callable[[np.ndarray], Any]:
    from bench.metrics.perceptual import distances, load_lpips
    from bench.metrics.quality_settings import ScorerSettings

    model = load_lpips(ScorerSettings("alex", "random"))
    return lambda images: distances(model, images, images[::-1].copy())


def fid() -> Callable[[np.ndarray], Any]:
    from bench.metrics.distribution import FidInception

    net = FidInception(random=True)
    return net.features


METRICS = {
    "clip_score": clip_score,
    "hps": hps,
    "pick_score": pick_score,
    "image_reward": image_reward,
    "lpips": lpips,
    "fid": fid,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--only", nargs="*", choices=list(METRICS))
    args = parser.parse_args()
    import torch

    images = np.random.default_rng(0).integers(0, 256, (args.images, args.size, args.size, 3), dtype=np.uint8)
    print(f"torch threads {torch.get_num_threads()}, {args.images} images of {args.size} px")
    print(f"{'metric':<11} {'build s':>8} {'s/image':>8}")
    for name in args.only or METRICS:
        started = time.perf_counter()
        run = METRICS[name]()
        built = time.perf_counter() - started
        run(images[:1])  # warm-up
        started = time.perf_counter()
        run(images)
        print(f"{name:<11} {built:8.1f} {(time.perf_counter() - started) / args.images:8.3f}", flush=True)


if __name__ == "__main__":
    main()
