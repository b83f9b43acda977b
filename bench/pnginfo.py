"""PNG text chunks: any image of a run says how to reproduce it (A1111 `parameters`, ComfyUI `prompt`).

What the chunks say is written in `bench.infotext` and `bench.comfy_workflow`; this module writes and reads
the PNGs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def write_png(path: Path, image: np.ndarray, text: str | Mapping[str, str]) -> None:
    """Write uint8 RGB [H, W, 3] atomically (temp file + rename) with text chunks (a str: `parameters`).

    The temp name is unique per process (bench.safe_write.temp_name), so two writers never share one;
    fast zlib level 1 keeps the per-cell cost small next to the sampler's (PNG is lossless at any level).
    """
    from PIL import Image, PngImagePlugin

    from bench.safe_write import temp_name

    info = PngImagePlugin.PngInfo()
    for key, value in ({"parameters": text} if isinstance(text, str) else text).items():
        info.add_itxt(key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        Image.fromarray(image, "RGB").save(tmp, format="PNG", pnginfo=info, compress_level=1)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_parameters(path: Path, key: str = "parameters") -> str | None:
    """A text chunk of a PNG (A1111's `parameters` by default; ComfyUI's is `prompt`)."""
    from PIL import Image

    with Image.open(path) as img:
        return img.info.get(key)
