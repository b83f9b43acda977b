"""Typed reading of one cell of a baseline file: every field has one allowed type, or the file is refused.

A baseline is an input like any other: a hand edit, a merge conflict or a file from elsewhere may hold
strings where numbers belong. Read leniently, a baseline of garbage metrics compared as "nothing to
compare" and passed; here any value of the wrong type names its cell and key (exit 2).
"""

from __future__ import annotations

import math
from typing import Any


class DocumentError(ValueError):
    """A value of the wrong type; `key` is its path inside the cell."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def optional_int(cell: dict, key: str, minimum: int = 0) -> int | None:
    value = cell.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise DocumentError(key, f"expected an integer >= {minimum} or null, got {_show(value)}")
    return value


def optional_str(cell: dict, key: str) -> str | None:
    value = cell.get(key)
    if value is not None and not isinstance(value, str):
        raise DocumentError(key, f"expected a string or null, got {_show(value)}")
    return value


def finite(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DocumentError(key, f"expected a finite number, got {_show(value)}")
    return float(value)


def numbers(cell: dict, key: str) -> tuple[float, ...] | None:
    value = cell.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise DocumentError(key, f"expected a list of numbers or null, got {_show(value)}")
    return tuple(finite(v, f"{key}[{i}]") for i, v in enumerate(value))


def metrics(cell: dict) -> dict[str, float | None]:
    value = cell.get("metrics")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DocumentError("metrics", f"expected a mapping of metric -> number, got {_show(value)}")
    return {str(k): None if v is None else finite(v, f"metrics.{k}") for k, v in value.items()}


def _plain(item: Any) -> bool:
    return item is None or isinstance(item, (str, int, float, bool))


def params(cell: dict) -> dict[str, Any]:
    value = cell.get("params")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DocumentError("params", f"expected a mapping, got {_show(value)}")
    for key, item in value.items():
        if not _plain(item) and not (isinstance(item, dict) and all(_plain(v) for v in item.values())):
            raise DocumentError(f"params.{key}", f"expected a plain value, got {_show(item)}")
    return dict(value)


def cell_fields(cell: dict) -> dict[str, Any]:
    """The CellRecord fields of a cell document (bench.check.baseline), each checked for its type."""
    return {
        "params": params(cell),
        "status": cell["status"],
        "error": optional_str(cell, "error"),
        "nfe": optional_int(cell, "nfe"),
        "batch_size": optional_int(cell, "batch_size", 1),
        "sample_s_repeats": numbers(cell, "sample_s_repeats") or (),
        "peak_mem_bytes": optional_int(cell, "peak_mem_bytes"),
        "peak_mem_kind": optional_str(cell, "peak_mem_kind"),
        "metrics": metrics(cell),
        "fingerprint": numbers(cell, "fingerprint"),
    }
