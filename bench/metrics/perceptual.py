"""LPIPS: the learned perceptual distance of each image to the reference image from the same noise.

LPIPS (Zhang et al. 2018, "The Unreasonable Effectiveness of Deep Features as a Perceptual Metric"):
unit-normalised activations of a pretrained network (AlexNet by default, the paper's recommended
"LPIPS-Alex") at five layers, differences weighted by linear layers fitted to human 2AFC judgements,
averaged over space and summed. Package `lpips` (BSD-2-Clause); its linear layers ship in the wheel,
the backbone is torchvision's ImageNet weights (`bench.metrics.weights`: the torch hub cache, then a
download). `quality: {lpips: {weights: random}}` leaves the backbone untrained (tests; flagged).

Images smaller than 64 px on a side are upscaled (bilinear) to 64 before the network: AlexNet's five
layers need that much. The reference is the same one `ref_psnr` uses (`bench.metrics.references`).
"""

from __future__ import annotations

from typing import Any

from bench.metrics.quality_settings import QualitySettings, ScorerSettings
from bench.metrics.weights import UrlFile, fetch

RANDOM_NOTE = "lpips: random backbone weights: not a meaningful distance"
MIN_SIDE = 64
#: the torchvision ImageNet weights lpips's backbones load (torchvision.models.*_Weights.IMAGENET1K_V1)
BACKBONES = {
    "alex": "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    "vgg": "https://download.pytorch.org/models/vgg16-397923af.pth",
    "squeeze": "https://download.pytorch.org/models/squeezenet1_1-b8a52dc0.pth",
}


def load_lpips(settings: ScorerSettings, device: str = "cpu", offline: bool = False) -> Any:
    """lpips.LPIPS with its backbone found or fetched first (torchvision then reads it from the cache)."""
    import lpips  # optional: pip install 'samplerbench[quality]'

    if not settings.random:
        fetch(UrlFile(BACKBONES[settings.model]), f"LPIPS {settings.model} backbone weights", offline_flag=offline)
    model = lpips.LPIPS(net=settings.model, pretrained=True, pnet_rand=settings.random, verbose=False)
    model.random_weights = settings.random
    return model.eval().to(device)


def distances(model: Any, images: Any, references: Any, device: str = "cpu") -> list[float]:
    """LPIPS of uint8 [n, H, W, 3] images to references of the same shape."""
    import numpy as np
    import torch

    def tensor(array: Any) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        h, w = x.shape[-2:]
        if min(h, w) < MIN_SIDE:
            scale = MIN_SIDE / min(h, w)
            x = torch.nn.functional.interpolate(
                x, size=(round(h * scale), round(w * scale)), mode="bilinear", align_corners=False
            )
        return x.to(device)

    with torch.inference_mode():
        return [float(v) for v in model(tensor(images), tensor(references)).flatten().cpu().tolist()]


def lpips_distance(res: Any, batch: Any) -> list[tuple[float | None, str | None]]:
    settings = (getattr(res.config, "quality", None) or QualitySettings()).lpips
    model = res.scorer("lpips", lambda: load_lpips(settings, str(res.model.device), res.offline))
    if model is None:
        return res.not_measured("lpips", batch)
    import numpy as np

    refs = res.references.get(batch.cells)
    values = distances(model, batch.images, np.stack([r.image for r in refs]), str(res.model.device))
    note = RANDOM_NOTE if model.random_weights else None
    return [(v, note) for v in values]
