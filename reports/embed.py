"""Putting images inside report.html (data URIs) so the page works alone, offline, mailed or copied.

Small images (the analytic model's 16 px ones) go in as they are; larger ones as a small JPEG thumbnail.
Full-resolution files stay in the run folder and are linked relatively. A run whose images would make
the page too heavy (`limit_bytes`) is reported in linked mode instead, and the page says so.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from reports.thumb_cache import ThumbCache

THUMB_SIDE = 160  # px: the largest tile the explorer shows without its dialog
JPEG_QUALITY = 82
RAW_BYTES = 24_000  # a PNG this small and no larger than THUMB_SIDE is embedded unchanged
DEFAULT_LIMIT_MB = 64.0


@dataclass(frozen=True)
class Thumb:
    uri: str  # data URI (embedded mode) or a path relative to the run folder (linked mode)
    parameters: str  # the PNG's A1111-style infotext, "" when it has none
    size: tuple[int, int]


@dataclass(frozen=True)
class EmbedMode:
    embed: bool = True
    limit_bytes: int = int(DEFAULT_LIMIT_MB * 2**20)


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def file_uri(path: Path) -> str:
    mime = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg"}.get(path.suffix, "image/png")
    return data_uri(path.read_bytes(), mime)


def thumbnail(path: Path, embed: bool, href: str, cache: ThumbCache | None = None) -> Thumb:
    """The explorer's picture of one image: itself when small, else a JPEG at most THUMB_SIDE px (taken
    from `cache` when it has this image's)."""
    if not embed:  # linked: only the header and the infotext are read
        with Image.open(path) as img:
            return Thumb(href, str(img.info.get("parameters", "")), img.size)
    data = path.read_bytes()  # read once: the header, the infotext and (small images) the data URI
    with Image.open(io.BytesIO(data)) as img:
        parameters = str(img.info.get("parameters", ""))
        size = img.size
        if max(size) <= THUMB_SIDE and len(data) <= RAW_BYTES and img.format == "PNG":
            return Thumb(data_uri(data, "image/png"), parameters, size)
        key = cache.key(data) if cache is not None else ""
        jpeg = cache.get(key) if cache is not None else None
        if jpeg is None:
            small = img.convert("RGB")
            small.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            small.save(out, "JPEG", quality=JPEG_QUALITY)
            jpeg = out.getvalue()
            if cache is not None:
                cache.put(key, jpeg)
    return Thumb(data_uri(jpeg, "image/jpeg"), parameters, size)


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
