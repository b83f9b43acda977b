"""Text on images for the grids: one bundled font at readable sizes, wrapping by pixel width.

The font is matplotlib's DejaVu Sans, which ships inside matplotlib itself, so a grid looks the same on
every machine whatever fonts the system has.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

Colour = tuple[int, int, int]
INK: Colour = (20, 20, 20)
MUTED: Colour = (90, 90, 90)
WARN: Colour = (170, 20, 20)


#: a loaded font: a TrueType face, or Pillow's built-in one where none is installed
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=16)
def font(size: int, bold: bool = False) -> Font:
    """DejaVu Sans from matplotlib's data folder, else Pillow's own scalable default."""
    import matplotlib

    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    path = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
    if path.is_file():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def text_width(text: str, fnt: Font) -> float:
    return fnt.getlength(text)


def line_height(fnt: Font) -> int:
    ascent, descent = fnt.getmetrics()  # type: ignore[union-attr]  # the built-in font at a size is a FreeTypeFont
    return ascent + descent + 2


def _split_long_word(word: str, fnt: Font, width: float) -> list[str]:
    parts, current = [], ""
    for ch in word:
        if current and text_width(current + ch, fnt) > width:
            parts.append(current)
            current = ch
        else:
            current += ch
    return parts + [current] if current else parts


def wrap(text: str, fnt: Font, width: float, max_lines: int | None = None) -> list[str]:
    """Greedy word wrap to `width` pixels; words longer than a line are cut; overflow ends with '…'."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        current = ""
        for word in paragraph.split():
            candidate = f"{current} {word}" if current else word
            if text_width(candidate, fnt) <= width:
                current = candidate
                continue
            if current:
                lines.append(current)
            pieces = _split_long_word(word, fnt, width)
            lines.extend(pieces[:-1])
            current = pieces[-1] if pieces else ""
        lines.append(current)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and text_width(last + "…", fnt) > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines


def draw_lines(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    box: tuple[int, int, int, int],
    fnt: Font,
    fill: Colour = INK,
    align: str = "center",
    valign: str = "middle",
) -> None:
    """Draw pre-wrapped lines inside box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    step = line_height(fnt)
    total = step * len(lines)
    y = {"top": y0, "middle": y0 + (y1 - y0 - total) / 2, "bottom": y1 - total}[valign]
    for line in lines:
        w = text_width(line, fnt)
        x = {"left": x0, "center": x0 + (x1 - x0 - w) / 2, "right": x1 - w}[align]
        draw.text((x, y), line, font=fnt, fill=fill)
        y += step


def fit_image(path: Path, size: tuple[int, int], background: Colour = (255, 255, 255)) -> Image.Image:
    """The image at `path` downscaled to fit `size`, centred on a plain background."""
    from PIL import ImageOps

    tile = Image.new("RGB", size, background)
    with Image.open(path) as img:
        rgb = img.convert("RGB")
        upscale = rgb.width < size[0] and rgb.height < size[1]
        # small analytic images are upscaled: nearest keeps their pixels sharp instead of blurring them
        method = Image.Resampling.NEAREST if upscale else Image.Resampling.LANCZOS
        thumb = ImageOps.contain(rgb, size, method)
    tile.paste(thumb, ((size[0] - thumb.width) // 2, (size[1] - thumb.height) // 2))
    return tile
