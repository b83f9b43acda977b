"""FID and KID of each sampler x steps: the distribution of its images against a reference set.

One value per *set* (a sampler x steps, with every other axis but prompt and seed fixed), over every
prompt and seed of the run, repeated on each cell of the set; completed in `finish`, when all are done.
- Features: the 2048-d pool features of the FID Inception network (Heusel et al. 2017), the TF
  Inception weights ported by pytorch-fid (Apache-2.0) that clean-fid's "legacy" mode, torch-fidelity and
  MLPerf's text-to-image benchmark also use; images resized to 299 px (bilinear), scaled to [-1, 1].
- FID: |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) (pytorch-fid's `calculate_frechet_distance`).
  It is biased upwards at small N (Chong & Forsyth 2020): compare sets of equal N only.
- KID: the unbiased squared MMD with the cubic kernel k(x, y) = (x.y / d + 1)^3 (Binkowski et al. 2018),
  averaged over subsets of at most 1000 as torch-fidelity and clean-fid do; needs reference *images*.
Reference (`quality: {fid: {reference: ...}}`): a folder of images, a precomputed-statistics .npz (mu,
sigma: clean-fid / pytorch-fid / MLPerf's val2014.npz format; FID only), or `sampler`: the run's own
reference images (`bench.metrics.references`) of the same prompts and noise.
Features are kept in the store's `metric_features` table, so a resumed run completes its sets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics.quality_settings import FidSettings, QualitySettings
from bench.metrics.weights import UrlFile, fetch

FID_WEIGHTS = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth"
)
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
_LAYERS = (
    "Conv2d_1a_3x3",
    "Conv2d_2a_3x3",
    "Conv2d_2b_3x3",
    "maxpool1",
    "Conv2d_3b_1x1",
    "Conv2d_4a_3x3",
    "maxpool2",
    "Mixed_5b",
    "Mixed_5c",
    "Mixed_5d",
    "Mixed_6a",
    "Mixed_6b",
    "Mixed_6c",
    "Mixed_6d",
    "Mixed_6e",
    "Mixed_7a",
    "Mixed_7b",
    "Mixed_7c",
    "avgpool",
)


class FidInception:
    """pytorch-fid's Inception (its FID blocks) up to the 2048-d pool, weights found or fetched first."""

    def __init__(self, random: bool = False, device: str = "cpu", offline: bool = False) -> None:
        import torch
        from pytorch_fid import inception as pf  # optional: pip install 'samplerbench[quality]'

        path = None if random else fetch(UrlFile(FID_WEIGHTS), "FID Inception weights", offline_flag=offline)
        net = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None)
        for name, block in (
            ("Mixed_5b", pf.FIDInceptionA(192, pool_features=32)),
            ("Mixed_5c", pf.FIDInceptionA(256, pool_features=64)),
            ("Mixed_5d", pf.FIDInceptionA(288, pool_features=64)),
            ("Mixed_6b", pf.FIDInceptionC(768, channels_7x7=128)),
            ("Mixed_6c", pf.FIDInceptionC(768, channels_7x7=160)),
            ("Mixed_6d", pf.FIDInceptionC(768, channels_7x7=160)),
            ("Mixed_6e", pf.FIDInceptionC(768, channels_7x7=192)),
            ("Mixed_7b", pf.FIDInceptionE_1(1280)),
            ("Mixed_7c", pf.FIDInceptionE_2(2048)),
        ):
            setattr(net, name, block)  # the FID network's blocks, as pytorch_fid.inception.fid_inception_v3
        if path is not None:
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        self.net, self.random_weights, self.device = net.eval().to(device), random, device

    def features(self, images: Any, batch: int = 16) -> np.ndarray:
        """uint8 images [H, W, 3] (an array [n, H, W, 3] or a list of any sizes) -> float64 [n, 2048]."""
        import torch

        out = []
        with torch.inference_mode():
            for chunk in _chunks(images, batch):
                x = torch.from_numpy(np.ascontiguousarray(np.stack(chunk))).permute(0, 3, 1, 2)
                x = x.float().div(255.0).to(self.device)
                x = torch.nn.functional.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
                x = 2.0 * x - 1.0
                for name in _LAYERS:
                    x = getattr(self.net, name)(x)
                out.append(x.flatten(1).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 2048))


def _chunks(images: Any, size: int) -> list[list[np.ndarray]]:
    """Consecutive images of one shape, at most `size` per chunk (a folder's images may differ in size)."""
    chunks: list[list[np.ndarray]] = []
    for image in images:
        if chunks and len(chunks[-1]) < size and chunks[-1][0].shape == image.shape:
            chunks[-1].append(image)
        else:
            chunks.append([image])
    return chunks


def psd_sqrt(sigma: np.ndarray) -> np.ndarray:
    """The symmetric square root of a covariance (eigh; rounding negatives clipped)."""
    values, vectors = np.linalg.eigh(np.asarray(sigma, np.float64))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def frechet_distance(
    mu_a: np.ndarray, sigma_a: np.ndarray, mu_b: np.ndarray, sigma_b: np.ndarray, sqrt_b: np.ndarray | None = None
) -> float:
    """|mu_a - mu_b|^2 + Tr(S_a) + Tr(S_b) - 2 Tr((S_a S_b)^(1/2)) (Dowson & Landau 1982; Heusel et al. 2017).

    Tr((S_a S_b)^(1/2)) = Tr((R S_a R)^(1/2)) with R = S_b^(1/2): two symmetric eigendecompositions
    instead of pytorch-fid's general `sqrtm`, the same value, several times faster at 2048 dimensions;
    `sqrt_b` (R) is computed once per reference and passed in.
    """
    root = psd_sqrt(sigma_b) if sqrt_b is None else sqrt_b
    eig = np.linalg.eigvalsh(root @ np.asarray(sigma_a, np.float64) @ root)
    trace_sqrt = float(np.sqrt(np.clip(eig, 0.0, None)).sum())
    diff = np.asarray(mu_a, np.float64) - np.asarray(mu_b, np.float64)
    return float(diff @ diff + np.trace(sigma_a) + np.trace(sigma_b) - 2.0 * trace_sqrt)


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return features.mean(axis=0), np.cov(features, rowvar=False)


def kid(a: np.ndarray, b: np.ndarray, subset: int = 1000, subsets: int = 100, seed: int = 0) -> float:
    """Unbiased MMD^2, kernel (x.y/d + 1)^3, mean over `subsets` random subsets of min(subset, n, m)."""
    d, size = a.shape[1], min(subset, len(a), len(b))
    if size < 2:
        raise ValueError("KID needs at least 2 images on each side")
    rng = np.random.default_rng(seed)
    draws = 1 if size == len(a) == len(b) else subsets
    total = 0.0
    for _ in range(draws):
        x = a[rng.choice(len(a), size, replace=False)]
        y = b[rng.choice(len(b), size, replace=False)]
        kxx, kyy, kxy = ((x @ x.T) / d + 1) ** 3, ((y @ y.T) / d + 1) ** 3, ((x @ y.T) / d + 1) ** 3
        off = size * (size - 1)
        total += (kxx.sum() - np.trace(kxx)) / off + (kyy.sum() - np.trace(kyy)) / off - 2 * kxy.mean()
    return float(total / draws)


def load_statistics(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) of a clean-fid / pytorch-fid / MLPerf statistics file (.npz with arrays mu and sigma)."""
    with np.load(path) as stats:
        missing = [k for k in ("mu", "sigma") if k not in stats.files]
        if missing:
            raise ValueError(f"{path} has no {' or '.join(missing)} array (it has: {', '.join(stats.files)})")
        mu, sigma = np.asarray(stats["mu"], np.float64), np.asarray(stats["sigma"], np.float64)
    if sigma.shape != (len(mu), len(mu)):
        raise ValueError(f"{path}: sigma is {sigma.shape}, expected ({len(mu)}, {len(mu)})")
    return mu, sigma


def set_key(cell: Any) -> str:
    """Everything of a cell but its prompt and seed: the images FID compares as one distribution."""
    return json.dumps(cell.identity_without("prompt", "seed"), sort_keys=True, default=str)


def folder_images(folder: str) -> list[np.ndarray]:
    from PIL import Image

    paths = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"no images ({', '.join(_IMAGE_SUFFIXES)}) in {folder}")
    return [np.asarray(Image.open(p).convert("RGB")) for p in paths]


class FeatureBank:
    """Inception features of this model's images (and of their references), one row per cell and kind."""

    def __init__(self, res: Any) -> None:
        self.res, self.settings = res, _settings(res)
        self.inception = res.scorer(
            "fid", lambda: FidInception(self.settings.weights == "random", str(res.model.device), res.offline)
        )
        self.keys: dict[str, Any] = {}  # set key -> a cell of the set, for sets this run touched
        self._reference: tuple[np.ndarray | None, np.ndarray, np.ndarray] | None = None
        self._root: np.ndarray | None = None
        self._done: set[str] = set()

    def add(self, batch: Any) -> None:
        if self.inception is None or all(c.id in self._done for c in batch.cells):
            return
        rows = [(c.id, "image", set_key(c), f) for c, f in zip(batch.cells, self.inception.features(batch.images))]
        if self.settings.kind == "sampler":
            refs = self.res.references.get(batch.cells)
            feats = self.inception.features(np.stack([r.image for r in refs]))
            rows += [(c.id, "reference", set_key(c), f) for c, f in zip(batch.cells, feats)]
        self.res.store.put_features([(cid, kind, key, f.astype(np.float64).tobytes()) for cid, kind, key, f in rows])
        self._done.update(c.id for c in batch.cells)
        self.keys.setdefault(set_key(batch.cells[0]), batch.cells[0])

    def features(self, key: str, kind: str) -> tuple[list[str], np.ndarray]:
        """(cell ids, features) of the set's cells that finished ok."""
        rows = self.res.store.features(key, kind)
        return [r[0] for r in rows], np.array([np.frombuffer(r[1], dtype=np.float64) for r in rows])

    def reference(self) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
        """(reference features or None for a stats file, mu, sigma) of a folder or .npz reference."""
        if self._reference is None:
            if self.settings.kind == "stats":
                self._reference = (None, *load_statistics(self.settings.reference))
            else:
                feats = self.inception.features(folder_images(self.settings.reference))
                self._reference = (feats, *statistics(feats))
        return self._reference

    def reference_root(self) -> np.ndarray:
        """S_ref^(1/2) of a folder or .npz reference, once per run."""
        if self._root is None:
            self._root = psd_sqrt(self.reference()[2])
        return self._root


def _settings(res: Any) -> FidSettings:
    return (getattr(res.config, "quality", None) or QualitySettings()).fid


class SetTracker:
    """FID or KID per set, written to every cell of the set in `finish` (one transaction)."""

    def __init__(self, res: Any, name: str) -> None:
        self.res, self.name = res, name
        self.bank = res.scorer("fid_features", lambda: FeatureBank(res))
        if self.bank.inception is not None and self.bank.inception.random_weights:
            res.random_metrics.add(name)

    def add(self, batch: Any) -> dict[str, tuple[float | None, str]]:
        if self.bank.inception is None:
            return {c.id: (None, f"{self.name}: not measured: {self.res.missing.get('fid')}") for c in batch.cells}
        self.bank.add(batch)
        return {}

    def finish(self) -> None:
        if self.bank.inception is None:
            return
        updates = {}
        for key in self.bank.keys:
            ids, feats = self.bank.features(key, "image")
            value, note = self._value(key, feats)
            updates.update({cid: ({self.name: value} if value is not None else {}, [note]) for cid in ids})
        if updates:
            self.res.store.update_metrics(updates)

    def _value(self, key: str, feats: np.ndarray) -> tuple[float | None, str]:
        n, settings = len(feats), self.bank.settings
        if n < 2:
            return None, f"{self.name}: not measured: needs at least 2 finished images in the set, got {n}"
        if settings.kind == "sampler":
            ref = self.bank.features(key, "reference")[1]
            against = "the reference sampler's images of the same prompts and noise"
            mu, sigma = statistics(ref)
            root = None
        else:
            ref, mu, sigma = self.bank.reference()
            root = self.bank.reference_root()
            against = f"{settings.reference}" + (f" ({len(ref)} images)" if ref is not None else " (statistics)")
        flag = " random Inception weights: not meaningful;" if self.bank.inception.random_weights else ""
        if self.name == "kid":
            if ref is None:
                return None, "kid: not measured: a statistics file has no images; give a folder or sampler"
            return kid(feats, ref), f"kid:{flag} over {n} images against {against}"
        return (
            frechet_distance(*statistics(feats), mu, sigma, root),
            f"fid:{flag} over {n} images against {against}; biased upwards at small N: compare equal N only",
        )


def fid_tracker(res: Any) -> SetTracker:
    return SetTracker(res, "fid")


def kid_tracker(res: Any) -> SetTracker:
    return SetTracker(res, "kid")
