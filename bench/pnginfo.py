"""A1111-style `parameters` text chunks: any image of a run says how to reproduce it."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np


def format_parameters(prompt: str, negative_prompt: str, fields: dict[str, Any]) -> str:
    """The WebUI infotext: prompt line, 'Negative prompt: ...', then 'Key: value, ...'."""
    lines = [prompt]
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in fields.items()))
    return "\n".join(lines)


def _quote(value: Any) -> str:
    text = str(value)
    return '"' + text.replace('"', '\\"') + '"' if re.search(r'[,:"\n]', text) else text


_FIELD = re.compile(r'\s*([^:,]+):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')


def parse_parameters(text: str) -> dict[str, Any]:
    """Inverse of `format_parameters`: {'prompt', 'negative_prompt', and every 'Key': 'value'}."""
    *head, last = text.split("\n")
    if not _FIELD.match(last) or ":" not in last:
        head, last = head + [last], ""
    negative = [ln for ln in head if ln.startswith("Negative prompt: ")]
    prompt = "\n".join(ln for ln in head if not ln.startswith("Negative prompt: "))
    out: dict[str, Any] = {"prompt": prompt,
                           "negative_prompt": negative[0][len("Negative prompt: "):] if negative else ""}
    for key, value in _FIELD.findall(last):
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"')
        out[key.strip()] = value.strip()
    return out


def write_png(path: Path, image: np.ndarray, parameters: str) -> None:
    """Write uint8 RGB [H, W, 3] atomically (temp file + rename) with a `parameters` text chunk.

    The temp name is unique per process (bench.safe_write.temp_name), so two writers never share one;
    fast zlib level 1 keeps the per-cell cost small next to the sampler's (PNG is lossless at any level).
    """
    from PIL import Image, PngImagePlugin

    from bench.safe_write import temp_name

    info = PngImagePlugin.PngInfo()
    info.add_itxt("parameters", parameters)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        Image.fromarray(image, "RGB").save(tmp, format="PNG", pnginfo=info, compress_level=1)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_parameters(path: Path) -> str | None:
    from PIL import Image

    with Image.open(path) as img:
        return img.info.get("parameters")
