"""Small typed validators for config values; each error names the file, key path and line."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from bench.errors import ConfigError
from bench.yamlsource import KeyPath, format_path

T = TypeVar("T")


@dataclass(frozen=True)
class Where:
    """Positions of a parsed YAML file, to raise errors at a key path."""

    file: str
    lines: dict[KeyPath, int]

    def error(self, path: KeyPath, message: str) -> ConfigError:
        line = None
        for end in range(len(path), -1, -1):  # the nearest enclosing key that has a line
            line = self.lines.get(path[:end])
            if line is not None:
                break
        return ConfigError(message, self.file, format_path(path), line)


def type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "empty",
    }.get(type(value), type(value).__name__)


def as_str(value: Any, path: KeyPath, where: Where, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise where.error(path, f"expected a string, got {type_name(value)} ({value!r})")
    if not allow_empty and not value.strip():
        raise where.error(path, "must not be empty")
    return value


def as_int(value: Any, path: KeyPath, where: Where, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(path, f"expected an integer, got {type_name(value)} ({value!r})")
    if minimum is not None and value < minimum:
        raise where.error(path, f"must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise where.error(path, f"must be <= {maximum}, got {value}")
    return value


def as_float(value: Any, path: KeyPath, where: Where, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.error(path, f"expected a number, got {type_name(value)} ({value!r})")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):  # YAML's .nan / .inf, or an integer beyond floats: every cell would fail
        raise where.error(path, f"must be a finite number, got {value!r}"[:200])
    if minimum is not None and number < minimum:
        raise where.error(path, f"must be >= {minimum}, got {value}")
    return number


def as_bool(value: Any, path: KeyPath, where: Where) -> bool:
    if not isinstance(value, bool):
        raise where.error(path, f"expected true or false, got {type_name(value)} ({value!r})")
    return value


def as_list(
    value: Any, path: KeyPath, where: Where, item: Callable[[Any, KeyPath], T], scalar_ok: bool = True
) -> tuple[T, ...]:
    """A non-empty list of items; a lone scalar is a list of one when `scalar_ok` (an axis of one value)."""
    if not isinstance(value, list):
        if not scalar_ok:
            raise where.error(path, f"expected a list, got {type_name(value)} ({value!r})")
        return (item(value, path),)
    if not value:
        raise where.error(path, "must not be an empty list")
    return tuple(item(v, path + (i,)) for i, v in enumerate(value))


def as_mapping(value: Any, path: KeyPath, where: Where, allowed: dict[str, str] | None = None) -> dict:
    """A mapping whose keys must be among `allowed` (key -> help) when given: unknown keys are errors."""
    if not isinstance(value, dict):
        raise where.error(path, f"expected a mapping, got {type_name(value)} ({value!r})")
    if allowed is not None:
        for key in value:
            if key not in allowed:
                raise where.error(path + (key,), unknown_key_message(key, allowed))
    return value


def unknown_key_message(key: Any, allowed: dict[str, str]) -> str:
    from samplers.registry import did_you_mean

    close = did_you_mean(str(key), allowed, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown key {key!r}.{hint} Allowed: {', '.join(allowed)}"
