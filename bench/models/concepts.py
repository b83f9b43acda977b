"""Prompts to concepts to images: the vocabulary of the analytic model (DESIGN.md, "The analytic model").

A prompt names a *concept*. "a red circle on yellow" is a `ShapeConcept` (colour, shape, background);
the colour defaults to white, the shape to a circle, the background to mid grey. Case, punctuation and
the articles a/an/the are ignored. Any other word, or two colours or two shapes before "on", makes the
prompt a `PatternConcept`: gratings whose colours, angles and frequencies come from the sha256 of the
normalised prompt (never Python's `hash`, which is salted per process), so the same prompt gives the
same image in every process and on every machine ("a red car" is a pattern, not a red circle).

`render(concept, height, width, components)` draws the K component means: K variants of the concept
(position and size differ), float64 in [-1, 1], anti-aliased over one pixel. Everything here is a pure
function of its arguments: numpy only, no random state, no torch.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Callable, Union

import numpy as np

#: colour words -> RGB in [0, 1]; "gray" is read as "grey"
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 0.8, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "cyan": (0.0, 1.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
    "orange": (1.0, 0.5, 0.0),
    "purple": (0.5, 0.0, 0.5),
    "white": (1.0, 1.0, 1.0),
    "black": (0.0, 0.0, 0.0),
    "grey": (0.5, 0.5, 0.5),
}
_ALIASES = {"gray": "grey"}
_ARTICLES = frozenset({"a", "an", "the"})

DEFAULT_COLOUR = "white"
DEFAULT_SHAPE = "circle"
DEFAULT_BACKGROUND = "grey"


@dataclass(frozen=True)
class ShapeConcept:
    """A coloured shape on a uniform background."""

    colour: str = DEFAULT_COLOUR
    shape: str = DEFAULT_SHAPE
    background: str = DEFAULT_BACKGROUND

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape} on {self.background}"


@dataclass(frozen=True)
class PatternConcept:
    """The fallback for a prompt outside the vocabulary: a pattern seeded by the prompt's sha256."""

    digest: str  # sha256 hex digest of the normalised prompt

    @property
    def name(self) -> str:
        return f"pattern {self.digest[:12]}"


Concept = Union[ShapeConcept, PatternConcept]


# ----------------------------------------------------------------------------------------------- parsing


def normalise(prompt: str) -> str:
    """Lower case, whitespace collapsed: the text whose sha256 seeds a pattern (punctuation stays)."""
    return " ".join(prompt.lower().split())


def _words(normalised: str) -> list[str]:
    words = re.findall(r"[^\W_]+", normalised)
    return [_ALIASES.get(w, w) for w in words if w not in _ARTICLES]


def _shape_concept(words: list[str]) -> ShapeConcept | None:
    """[colour] [shape] [on <colour> [background]] in any subject order, or None if that is not it."""
    background = DEFAULT_BACKGROUND
    if "on" in words:
        at = words.index("on")
        words, rest = words[:at], words[at + 1 :]
        if rest[-1:] == ["background"]:
            rest = rest[:-1]
        if len(rest) != 1 or rest[0] not in COLOURS:
            return None
        background = rest[0]
    colours = [w for w in words if w in COLOURS]
    shapes = [w for w in words if w in SHAPES]
    if len(colours) > 1 or len(shapes) > 1 or len(colours) + len(shapes) != len(words):
        return None
    if not words and background == DEFAULT_BACKGROUND:
        return None  # no vocabulary word at all
    return ShapeConcept(colours[0] if colours else DEFAULT_COLOUR, shapes[0] if shapes else DEFAULT_SHAPE, background)


def parse_prompt(prompt: str) -> Concept:
    """The concept a (non-empty) prompt names; unknown words give a deterministic pattern."""
    text = normalise(prompt)
    if not text:
        raise ValueError("an empty prompt is the unconditional mixture, not a concept")
    concept = _shape_concept(_words(text))
    if concept is not None:
        return concept
    return PatternConcept(hashlib.sha256(text.encode("utf-8")).hexdigest())


def vocabulary() -> tuple[ShapeConcept, ...]:
    """Every colour x shape on the default background (the unconditional data), in a fixed order."""
    return tuple(ShapeConcept(c, s, DEFAULT_BACKGROUND) for c in COLOURS if c != DEFAULT_BACKGROUND for s in SHAPES)


def component_weights(components: int) -> np.ndarray:
    """Unequal fixed weights w_k proportional to K, K-1, ..., 1 (sum 1): variants are not exchangeable."""
    w = np.arange(components, 0, -1, dtype=np.float64)
    return w / w.sum()


# ---------------------------------------------------------------------------------------------- geometry
# Signed distance functions (negative inside) of shapes of "radius" r centred at the origin, in units of
# the image's shorter side. Box and half-plane formulas after I. Quilez, "2D distance functions".

SdfFn = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def _box(x: np.ndarray, y: np.ndarray, bx: float, by: float) -> np.ndarray:
    qx, qy = np.abs(x) - bx, np.abs(y) - by
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _triangle(x: np.ndarray, y: np.ndarray, r: float) -> np.ndarray:
    """Equilateral, pointing up (y grows downwards), circumradius 1.15 r: max of three half-planes."""
    inradius = 0.5 * 1.15 * r
    normals = ((0.0, 1.0), (math.sqrt(3) / 2, -0.5), (-math.sqrt(3) / 2, -0.5))
    return np.max([nx * x + ny * y for nx, ny in normals], axis=0) - inradius


#: shape words -> signed distance function (x, y, r)
SHAPES: dict[str, SdfFn] = {
    "circle": lambda x, y, r: np.hypot(x, y) - r,
    "square": lambda x, y, r: _box(x, y, 0.85 * r, 0.85 * r),
    "triangle": _triangle,
    "diamond": lambda x, y, r: (np.abs(x) + np.abs(y) - 1.15 * r) / math.sqrt(2),
    "ring": lambda x, y, r: np.abs(np.hypot(x, y) - 0.75 * r) - 0.25 * r,
    "cross": lambda x, y, r: np.minimum(_box(x, y, r, 0.3 * r), _box(x, y, 0.3 * r, r)),
}

_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


def variant(k: int, components: int) -> tuple[float, float, float]:
    """(centre x, centre y, radius) of variant k, as fractions: the first centred and largest."""
    frac = k / components
    spread = 0.16 * math.sqrt(frac)
    return (0.5 + spread * math.cos(k * _GOLDEN_ANGLE), 0.5 + spread * math.sin(k * _GOLDEN_ANGLE), 0.30 - 0.12 * frac)


def _grid(height: int, width: int, cx: float, cy: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Pixel-centre coordinates relative to (cx, cy), in units of the shorter side (shapes stay round)."""
    side = min(height, width)
    y = (np.arange(height, dtype=np.float64)[:, None] + 0.5 - cy * height) / side
    x = (np.arange(width, dtype=np.float64)[None, :] + 0.5 - cx * width) / side
    return np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width)), side


def _rgb(name: str) -> np.ndarray:
    return np.asarray(COLOURS[name], dtype=np.float64)[:, None, None] * 2.0 - 1.0


def _render_shape(concept: ShapeConcept, height: int, width: int, components: int) -> np.ndarray:
    fg, bg = _rgb(concept.colour), _rgb(concept.background)
    sdf = SHAPES[concept.shape]
    means = np.empty((components, 3, height, width), dtype=np.float64)
    for k in range(components):
        cx, cy, r = variant(k, components)
        x, y, side = _grid(height, width, cx, cy)
        coverage = np.clip(0.5 - sdf(x, y, r) * side, 0.0, 1.0)  # one-pixel anti-aliased edge
        means[k] = bg + (fg - bg) * coverage
    return means


def _units(digest: str, count: int) -> list[float]:
    """`count` numbers in [0, 1) derived from a hex digest (sha256 chain: the same on every platform)."""
    return [
        int.from_bytes(hashlib.sha256(f"{i}:{digest}".encode()).digest()[:8], "big") / 2.0**64 for i in range(count)
    ]


def _render_pattern(concept: PatternConcept, height: int, width: int, components: int) -> np.ndarray:
    """Two crossed sinusoidal gratings between two contrasting colours; variants shift and scale them."""
    u = _units(concept.digest, 10)
    c1 = np.asarray(u[0:3])[:, None, None] * 2.0 - 1.0
    c2 = -0.6 * c1 + 0.4 * (np.asarray(u[3:6])[:, None, None] * 2.0 - 1.0)  # leans to the complement
    angle1, angle2 = u[6] * math.pi, u[7] * math.pi
    freq1, freq2 = 1.5 + 3.0 * u[8], 1.5 + 3.0 * u[9]
    means = np.empty((components, 3, height, width), dtype=np.float64)
    for k in range(components):
        cx, cy, r = variant(k, components)
        x, y, _ = _grid(height, width, cx, cy)
        scale = 0.30 / r
        g1 = np.sin(2 * math.pi * freq1 * scale * (x * math.cos(angle1) + y * math.sin(angle1)))
        g2 = np.sin(2 * math.pi * freq2 * scale * (x * math.cos(angle2) + y * math.sin(angle2)))
        means[k] = c1 + (c2 - c1) * (0.5 + 0.25 * (g1 + g2))
    return means


_RENDERERS: dict[type, Callable[..., np.ndarray]] = {
    ShapeConcept: _render_shape,
    PatternConcept: _render_pattern,
}


def render(concept: Concept, height: int, width: int, components: int) -> np.ndarray:
    """The concept's K component means, float64 [K, 3, H, W] in [-1, 1] (a new array on every call)."""
    if height < 1 or width < 1 or components < 1:
        raise ValueError(f"render needs height, width, components >= 1; got {height}, {width}, {components}")
    return _RENDERERS[type(concept)](concept, height, width, components)
