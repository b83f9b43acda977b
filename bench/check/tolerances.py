"""Tolerances of `bench check`: small objects parsed from strings like "10%" or "0.02" (pytest-benchmark style).

A tolerance is relative ("10%": a fraction of the baseline value) or absolute ("0.02": in the unit of the
measure: seconds, bytes, metric units, latent RMS), or "off" to skip that check. The same settings come
from four layers, highest first: the command line, the run's `check:` section (its benchmark file), the
baseline file, the defaults below. One validator serves all four so they cannot drift apart; each layer
passes a `fail(path, message)` that builds its own located error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from samplers.registry import did_you_mean

KeyPath = tuple[Any, ...]
Fail = Callable[[KeyPath, str], Exception]


@dataclass(frozen=True)
class Tolerance:
    """How far a value may move, in the bad direction, before it counts."""

    amount: float  # a fraction when relative
    relative: bool

    def limit(self, baseline: float) -> float:
        """The largest allowed change for this baseline value."""
        return self.amount * abs(baseline) if self.relative else self.amount

    def exceeded(self, baseline: float, change: float) -> bool:
        return change > self.limit(baseline)

    def __str__(self) -> str:
        return f"{self.amount * 100:g}%" if self.relative else f"{self.amount:g}"


_OFF_WORDS = ("off", "none", "false")


def parse_tolerance(value: Any) -> Tolerance | None:
    """'10%' | '0.02' | 0.02 -> Tolerance; 'off' | false -> None (the check is skipped). Raises ValueError."""
    if value is False or (isinstance(value, str) and value.strip().lower() in _OFF_WORDS):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"a tolerance is like '10%' (relative), 0.02 (absolute) or 'off'; got {value!r}")
    text = str(value).strip()
    relative = text.endswith("%")
    try:
        amount = float(text[:-1] if relative else text)
    except ValueError:
        raise ValueError(f"a tolerance is like '10%' (relative), 0.02 (absolute) or 'off'; got {value!r}") from None
    if not math.isfinite(amount) or amount < 0:
        raise ValueError(f"a tolerance must be a finite number >= 0; got {value!r}")
    return Tolerance(amount / 100 if relative else amount, relative)


def tolerance_text(tolerance: Tolerance | None) -> str:
    return "off" if tolerance is None else str(tolerance)


#: the keys of a `check:` section -> help (the allowed set in error messages, the README table)
CHECK_KEYS: dict[str, str] = {
    "time": "median sampling seconds per image: '10%', seconds, or 'off'; must also exceed the noise",
    "memory": "peak memory: '5%', bytes, or 'off'",
    "quality": "each quality metric, in its better direction: '5%' | absolute | {default: .., <metric>: ..}",
    "drift": "RMS distance between image fingerprints (latent units) or '%' of the baseline's RMS",
    "normalise": "divide times by the run's machine factor so a faster or slower machine does not trip",
    "strict": "environment differences do not turn time and memory failures into warnings",
    "alpha": "significance level of the noise test on timing repeats (0 < alpha < 0.5)",
}

DEFAULTS: dict[str, Any] = {
    "time": "10%",
    "memory": "5%",
    "quality": "5%",
    "drift": "0.0001",
    "normalise": False,
    "strict": False,
    "alpha": 0.01,
}

_TOLERANCE_KEYS = ("time", "memory", "drift")


def _tolerance(value: Any, path: KeyPath, fail: Fail) -> str:
    try:
        return tolerance_text(parse_tolerance(value))
    except ValueError as exc:
        raise fail(path, str(exc)) from None


def _metric_names() -> list[str]:
    from bench.metrics import METRICS

    return list(METRICS)


def _suggest(key: Any, allowed: list[str]) -> str:
    close = did_you_mean(str(key), allowed, n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown key {key!r}.{hint} Allowed: {', '.join(allowed)}"


def parse_section(data: Any, fail: Fail, path: KeyPath = ()) -> dict[str, Any]:
    """Validate a `check:` mapping; return flat settings ('quality.<metric>' keys), tolerances as text."""
    if not isinstance(data, Mapping):
        raise fail(path, f"expected a mapping of {', '.join(CHECK_KEYS)}; got {data!r}")
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = path + (key,)
        if key not in CHECK_KEYS:
            raise fail(where, _suggest(key, list(CHECK_KEYS)))
        if key in _TOLERANCE_KEYS:
            out[key] = _tolerance(value, where, fail)
        elif key == "quality":
            out.update(_quality(value, where, fail))
        elif key == "alpha":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 0.5:
                raise fail(where, f"must be a number between 0 and 0.5 (e.g. 0.01); got {value!r}")
            out[key] = float(value)
        elif not isinstance(value, bool):
            raise fail(where, f"expected true or false; got {value!r}")
        else:
            out[key] = value
    return out


def _quality(value: Any, path: KeyPath, fail: Fail) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {"quality": _tolerance(value, path, fail)}
    allowed = ["default", *_metric_names()]
    out = {}
    for metric, tol in value.items():
        if metric not in allowed:
            raise fail(path + (metric,), _suggest(metric, allowed))
        out["quality" if metric == "default" else f"quality.{metric}"] = _tolerance(tol, path + (metric,), fail)
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Flat settings -> the nested form of a `check:` section (for meta and baseline files)."""
    out: dict[str, Any] = {k: v for k, v in flat.items() if not k.startswith("quality")}
    quality = {
        ("default" if k == "quality" else k.split(".", 1)[1]): v for k, v in flat.items() if k.startswith("quality")
    }
    if quality:
        out["quality"] = quality["default"] if list(quality) == ["default"] else quality
    return out


@dataclass(frozen=True)
class Gate:
    """The tolerances in force for one check, and which layer set each one (for the report)."""

    time: Tolerance | None
    memory: Tolerance | None
    drift: Tolerance | None
    quality_default: Tolerance | None
    quality: dict[str, Tolerance | None] = field(default_factory=dict, compare=False)
    normalise: bool = False
    strict: bool = False
    alpha: float = 0.01
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def for_metric(self, metric: str) -> Tolerance | None:
        return self.quality.get(metric, self.quality_default)

    def describe(self) -> list[str]:
        """'time 10% (default)'... one entry per setting, in a stable order."""
        out = []
        for key in sorted(self.sources, key=lambda k: (list(CHECK_KEYS).index(k.split(".")[0]), k)):
            value = self._value(key)
            out.append(f"{key} {value} ({self.sources[key]})")
        return out

    def _value(self, key: str) -> str:
        if key.startswith("quality."):
            return tolerance_text(self.quality[key.split(".", 1)[1]])
        if key == "quality":
            return tolerance_text(self.quality_default)
        value = getattr(self, key)
        return tolerance_text(value) if key in _TOLERANCE_KEYS else str(value).lower()


def build_gate(layers: list[tuple[str, Mapping[str, Any]]]) -> Gate:
    """Merge flat settings, highest layer first, over the defaults; remember each value's source."""
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, settings in [*layers, ("default", DEFAULTS)]:
        for key, value in settings.items():
            if key not in merged:
                merged[key], sources[key] = value, name
    quality = {k.split(".", 1)[1]: parse_tolerance(v) for k, v in merged.items() if k.startswith("quality.")}
    return Gate(
        time=parse_tolerance(merged["time"]),
        memory=parse_tolerance(merged["memory"]),
        drift=parse_tolerance(merged["drift"]),
        quality_default=parse_tolerance(merged["quality"]),
        quality=quality,
        normalise=bool(merged["normalise"]),
        strict=bool(merged["strict"]),
        alpha=float(merged["alpha"]),
        sources=sources,
    )
