"""The benchmark file's `quality:` key: the models and references of the learned quality metrics.

    quality:
      hps: {model: ViT-H-14, weights: HPS_v2.1_compressed.pt}     # a file of xswu/HPSv2, a path, or random
      pick_score: {model: yuvalkirstain/PickScore_v1, processor: laion/CLIP-ViT-H-14-laion2B-s32B-b79K}
      image_reward: {model: THUDM/ImageReward, weights: ImageReward.pt, processor: google-bert/bert-base-uncased}
      lpips: {net: alex}                                            # alex | vgg | squeeze; weights: random
      fid: {reference: coco2014.npz}                                # a folder of images, an .npz, or sampler

Every key is optional (the published defaults above). Paths are relative to the benchmark file. Same
(value, key path, Where) parser convention as `bench.config`; no torch here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.validate import Where, as_mapping, as_str

HPS_REPO = "xswu/HPSv2"
HPS_FILE = "HPS_v2.1_compressed.pt"
PICK_MODEL = "yuvalkirstain/PickScore_v1"
PICK_PROCESSOR = "laion/CLIP-ViT-H-14-laion2B-s32B-b79K"
IMAGE_REWARD_REPO = "THUDM/ImageReward"
IMAGE_REWARD_FILE = "ImageReward.pt"
BERT_TOKENIZER = "google-bert/bert-base-uncased"  # BLIP's tokenizer ('bert-base-uncased', moved there)
RANDOM = "random"  # weights: random builds the architecture with random weights (tests); flagged everywhere
LPIPS_NETS = ("alex", "vgg", "squeeze")


@dataclass(frozen=True)
class ScorerSettings:
    """An image-text preference model: architecture or repo, its weights, its processor."""

    model: str
    weights: str = ""  # hps, image_reward: a file of the repo, a path, or random; pick_score: "" or random
    processor: str = ""

    @property
    def random(self) -> bool:
        return self.weights == RANDOM


@dataclass(frozen=True)
class FidSettings:
    """FID/KID's reference: a folder of images, a clean-fid/torch-fidelity .npz (mu, sigma), or 'sampler'."""

    reference: str = "sampler"
    weights: str = ""  # "" = pytorch-fid's published Inception; random (tests)

    @property
    def kind(self) -> str:
        if self.reference == "sampler":
            return "sampler"
        return "stats" if self.reference.lower().endswith(".npz") else "folder"


@dataclass(frozen=True)
class QualitySettings:
    hps: ScorerSettings = ScorerSettings("ViT-H-14", HPS_FILE)
    pick_score: ScorerSettings = ScorerSettings(PICK_MODEL, "", PICK_PROCESSOR)
    lpips: ScorerSettings = ScorerSettings("alex")
    image_reward: ScorerSettings = ScorerSettings(IMAGE_REWARD_REPO, IMAGE_REWARD_FILE, BERT_TOKENIZER)
    fid: FidSettings = field(default_factory=FidSettings)


def _path(text: str, base: Path) -> str:
    """`text` resolved against the benchmark file's folder when it names an existing relative path."""
    if os.path.isabs(text) or text == RANDOM:
        return text
    candidate = base / text
    return str(candidate) if candidate.exists() else text


def _scorer(
    value: Any, path: tuple, where: Where, default: ScorerSettings, base: Path, allowed: dict[str, str]
) -> ScorerSettings:
    as_mapping(value, path, where, allowed)
    got = {k: _path(as_str(value[k], path + (k,), where, allow_empty=False), base) for k in allowed if k in value}
    return ScorerSettings(
        got.get("model", got.get("net", default.model)),
        got.get("weights", default.weights),
        got.get("processor", default.processor),
    )


#: each learned scorer's keys in the benchmark file -> what they take (the order of QualitySettings' fields)
_SCORER_KEYS: dict[str, dict[str, str]] = {
    "hps": {"model": "open_clip architecture", "weights": f"a file of {HPS_REPO}, a path, or random"},
    "pick_score": {"model": "hub repo or folder", "processor": "hub repo or folder", "weights": "random"},
    "lpips": {"net": "/".join(LPIPS_NETS), "weights": "random"},
    "image_reward": {
        "model": "hub repo or folder with med_config.json",
        "weights": f"a file of the repo ({IMAGE_REWARD_FILE}), a path, or random",
        "processor": "tokenizer: hub repo or folder with vocab.txt",
    },
}


def parse_quality(value: Any, path: tuple, where: Where, base: Path | None = None) -> QualitySettings:
    base = base or Path(where.file).parent
    as_mapping(
        value,
        path,
        where,
        {
            "hps": "HPS v2.1 model",
            "pick_score": "PickScore model",
            "image_reward": "ImageReward model",
            "lpips": "LPIPS network",
            "fid": "FID/KID reference",
        },
    )
    d = QualitySettings()
    hps, pick, lp, reward = (
        _scorer(value.get(name, {}), path + (name,), where, getattr(d, name), base, keys)
        for name, keys in _SCORER_KEYS.items()
    )
    for key, s in (("pick_score", pick), ("lpips", lp)):
        if s.weights not in ("", RANDOM):
            raise where.error(
                path + (key, "weights"), f"weights: is only 'random' here (got {s.weights!r}); name the model instead"
            )
    if lp.model not in LPIPS_NETS:
        raise where.error(
            path + ("lpips", "net"), f"unknown LPIPS network {lp.model!r}; one of {', '.join(LPIPS_NETS)}"
        )
    fid_value = value.get("fid", {})
    as_mapping(
        fid_value, path + ("fid",), where, {"reference": "folder | stats .npz | sampler", "weights": "random (tests)"}
    )
    fid = FidSettings(
        _path(
            as_str(fid_value.get("reference", "sampler"), path + ("fid", "reference"), where, allow_empty=False), base
        ),
        as_str(fid_value.get("weights", ""), path + ("fid", "weights"), where),
    )
    if fid.weights not in ("", RANDOM):
        raise where.error(path + ("fid", "weights"), f"weights: is only 'random' here (got {fid.weights!r})")
    if fid.kind != "sampler" and not os.path.exists(fid.reference):
        raise where.error(
            path + ("fid", "reference"),
            f"{fid.reference} does not exist: give a folder of images, a .npz with mu and sigma, or sampler",
        )
    return QualitySettings(hps, pick, lp, reward, fid)


_SCORER = {
    "type": "object",
    "additionalProperties": False,
    "properties": {k: {"type": "string"} for k in ("model", "weights", "processor", "net")},
}
SCHEMA: dict = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "hps": _SCORER,
        "pick_score": _SCORER,
        "lpips": _SCORER,
        "image_reward": _SCORER,
        "fid": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"reference": {"type": "string"}, "weights": {"type": "string"}},
        },
    },
}
