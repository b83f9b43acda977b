"""The `noise:` key of a benchmark file: which tool's noise convention the cells run (an axis).

`noise: {convention: comfyui}` runs every cell as ComfyUI's KSampler draws and scales its noise, so the
image is the one ComfyUI makes from the cell's workflow; `convention: [samplerbench, comfyui]` compares
them. The default, samplerbench, is left out of cell ids, so ids from before the key existed stay valid.
The conventions are described in samplers/noise_conventions.py and docs/samplers.md.
"""

from __future__ import annotations

from typing import Any

from bench.validate import Where, as_mapping, as_str
from samplers.base import NOISE_CONVENTIONS

DEFAULT = NOISE_CONVENTIONS[0]
HELP = (
    "how the starting noise is scaled and a sampler's own noise seeded, as one tool does it: "
    f"{{convention: {' | '.join(NOISE_CONVENTIONS)}}} (a list of conventions is an axis)"
)
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "convention": {
            "oneOf": [
                {"enum": list(NOISE_CONVENTIONS)},
                {"type": "array", "items": {"enum": list(NOISE_CONVENTIONS)}, "minItems": 1},
            ]
        }
    },
}


def parse_noise(value: Any, path: tuple, where: Where) -> tuple[str, ...]:
    """{convention: name | [names]} -> the conventions, each checked against the known ones."""
    mapping = as_mapping(value, path, where, {"convention": HELP})
    raw = mapping.get("convention", DEFAULT)
    items = raw if isinstance(raw, list) else [raw]
    key = path + ("convention",)
    if not items:
        raise where.error(key, "must not be empty")
    names: list[str] = []
    for i, item in enumerate(items):
        at = key + (i,) if isinstance(raw, list) else key
        name = as_str(item, at, where)
        if name not in NOISE_CONVENTIONS:
            raise where.error(at, f"unknown noise convention {name!r}; known: {', '.join(NOISE_CONVENTIONS)}")
        if name in names:
            raise where.error(at, f"duplicate value {name!r}")
        names.append(name)
    return tuple(names)
