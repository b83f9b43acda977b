"""ImageReward parity: samplerbench's scorer against the image-reward package's own model, same weights.

The package cannot live in samplerbench's environment (timm 0.6.13, transformers 4), so its side runs in a
second interpreter, made once:

    python -m venv --system-site-packages /tmp/irvenv
    /tmp/irvenv/bin/pip install "transformers==4.38.2" "timm==0.6.13"
    /tmp/irvenv/bin/pip install --no-deps image-reward==1.5
    python perf/image_reward_parity.py --python /tmp/irvenv/bin/python

That side builds `ImageReward.ImageReward` (ViT-L + BERT-base, BLIP's published med_config values) with random
weights, saves its state dict as ImageReward.pt with a made-up vocabulary (the real bert-base-uncased one is
a download), and scores images with the package's `score(prompt, image)`. This side loads the same files with
`bench.metrics.image_reward` and prints the largest difference. Random weights say nothing about images: the
point is that both compute the same function. The package's training-only imports (ReFL: accelerate,
datasets; fairscale's activation checkpointing) are stubbed on that side; scoring does not use them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: BLIP's med_config.json (BertConfig of the image-grounded text encoder, as ImageReward publishes it)
MED_CONFIG = {
    "architectures": ["BertModel"],
    "attention_probs_dropout_prob": 0.1,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "layer_norm_eps": 1e-12,
    "max_position_embeddings": 512,
    "model_type": "bert",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "pad_token_id": 0,
    "type_vocab_size": 2,
    "vocab_size": 30524,
    "encoder_width": 768,
    "add_cross_attention": True,
}
PROMPTS = [
    "a red circle on a green square",
    "a photo of a cat",
    "an astronaut riding a horse, highly detailed, digital painting, trending, sharp focus, 4k, by a famous "
    "illustrator, dramatic lighting, volumetric clouds, golden hour, masterpiece, best quality, ultra detailed, "
    "cinematic composition, octane render",
]
WORDS = "a an the of on in red green circle square photo cat astronaut riding horse highly detailed digital".split()


def write_inputs(folder: Path) -> None:
    """vocab.txt (BERT's special tokens at their ids, made-up words), med_config.json, images, prompts."""
    import numpy as np

    words = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    words += WORDS + [",", "4k", "by", "famous", "painting", "trending", "sharp", "focus"]
    words += [f"##w{i}" for i in range(30522 - len(words))]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    (folder / "med_config.json").write_text(json.dumps(MED_CONFIG), encoding="utf-8")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (len(PROMPTS), 96, 128, 3), dtype=np.uint8)
    images[1] = np.clip(images[1].astype(int) // 2 + 64, 0, 255)  # not all alike
    np.save(folder / "images.npy", images)
    (folder / "prompts.json").write_text(json.dumps(PROMPTS), encoding="utf-8")


def reference(folder: Path) -> None:
    """Run inside the image-reward interpreter: build, save and score with the package."""
    import types

    import numpy as np
    import torch
    from PIL import Image

    sys.modules["ImageReward.ReFL"] = types.ModuleType("ImageReward.ReFL")  # training only
    for name in (
        "fairscale",
        "fairscale.nn",
        "fairscale.nn.checkpoint",
        "fairscale.nn.checkpoint.checkpoint_activations",
    ):
        sys.modules[name] = types.ModuleType(name)
    sys.modules["fairscale.nn.checkpoint.checkpoint_activations"].checkpoint_wrapper = lambda m, **k: m  # type: ignore[attr-defined]
    import ImageReward.models.BLIP.blip_pretrain as blip_pretrain
    from ImageReward.ImageReward import ImageReward
    from transformers import BertTokenizer

    def init_tokenizer() -> BertTokenizer:  # BLIP's init_tokenizer on the local vocabulary
        tokenizer = BertTokenizer(str(folder / "vocab.txt"))
        tokenizer.add_special_tokens({"bos_token": "[DEC]"})
        tokenizer.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
        tokenizer.enc_token_id = tokenizer.additional_special_tokens_ids[0]
        return tokenizer

    blip_pretrain.init_tokenizer = init_tokenizer
    torch.manual_seed(0)
    model = ImageReward(med_config=str(folder / "med_config.json")).eval()
    with torch.no_grad():  # the published init makes every score about -0.16: spread the head so it shows
        for p in model.mlp.parameters():
            p.normal_(0, 0.08)
    torch.save(model.state_dict(), folder / "ImageReward.pt")
    images = np.load(folder / "images.npy")
    prompts = json.loads((folder / "prompts.json").read_text())
    with torch.no_grad():
        scores = [model.score(p, Image.fromarray(i)) for p, i in zip(prompts, images)]
    (folder / "reference.json").write_text(json.dumps(scores))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", help="an interpreter with image-reward installed (see above)")
    parser.add_argument("--reference", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        reference(args.reference)
        return 0
    if not args.python:
        parser.error("--python is required (an interpreter with image-reward: see this script's docstring)")
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from bench.metrics.image_reward import load_image_reward
    from bench.metrics.quality_settings import ScorerSettings

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_inputs(folder)
        subprocess.run([args.python, __file__, "--reference", str(folder)], check=True)
        expected = json.loads((folder / "reference.json").read_text())
        scorer = load_image_reward(ScorerSettings(str(folder), str(folder / "ImageReward.pt"), str(folder)))
        got, cut = scorer.score(np.load(folder / "images.npy"), json.loads((folder / "prompts.json").read_text()))
    diff = max(abs(a - b) for a, b in zip(got, expected))
    print("| prompt | image-reward package | samplerbench | difference |")
    print("|---|---|---|---|")
    for p, a, b in zip(PROMPTS, expected, got):
        print(f"| {p[:40]} | {a:.7f} | {b:.7f} | {abs(a - b):.1e} |")
    print(f"\nlargest difference {diff:.2e}; prompts cut at 35 tokens: {cut}")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
