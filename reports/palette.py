"""One colour per sampler, shared by every chart and the HTML table, so a reader can follow a sampler."""

from __future__ import annotations

import colorsys
import hashlib
from collections.abc import Iterable

# matplotlib's "tab20" reordered so the first ten are the saturated, clearly distinct ones (tab10).
_BASE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#c7c7c7",
    "#dbdb8d",
    "#9edae5",
)


def _hashed_colour(name: str) -> str:
    """A stable extra colour for runs with more samplers than the base palette holds."""
    digest = hashlib.sha1(name.encode("utf-8")).digest()
    hue = digest[0] / 255.0
    lightness = 0.35 + 0.3 * digest[1] / 255.0
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.65)
    return f"#{int(r * 255):02x}{int(g * 255):02x}{int(b * 255):02x}"


def sampler_colours(names: Iterable[str]) -> dict[str, str]:
    """Map each distinct name (first-seen order) to a hex colour: distinct for the first 20."""
    order = list(dict.fromkeys(str(n) for n in names))
    return {n: (_BASE[i] if i < len(_BASE) else _hashed_colour(n)) for i, n in enumerate(order)}
