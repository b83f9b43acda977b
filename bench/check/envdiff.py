"""What differs between the environment of the baseline and of the run (pyperf-style checked metadata).

Differences in hardware or in the numeric stack make time and memory incomparable: `bench check` shows
them, and turns time and memory failures into warnings unless `--strict`. Other differences (the git
hash, other packages) are shown for context only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

#: environment keys whose change makes time and memory incomparable
SOFTENING = frozenset(
    {"device", "device_name", "cpu", "cpu_count", "torch_threads", "python", "cuda", "packages.torch"}
)


@dataclass(frozen=True)
class EnvDiff:
    key: str
    baseline: Any
    current: Any
    softens: bool  # turns time and memory failures into warnings (unless --strict)


def flatten(environment: Mapping[str, Any]) -> dict[str, Any]:
    """{'packages': {'torch': '2.1'}} -> {'packages.torch': '2.1'}."""
    out: dict[str, Any] = {}
    for key, value in environment.items():
        if isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in flatten(value).items()})
        else:
            out[key] = value
    return out


def environment_diffs(baseline: Mapping[str, Any], current: Mapping[str, Any]) -> list[EnvDiff]:
    """Every key whose value differs, softening keys first; empty when either side recorded nothing."""
    if not baseline or not current:
        return []
    old, new = flatten(baseline), flatten(current)
    keys = sorted(set(old) | set(new), key=lambda k: (k not in SOFTENING, k))
    return [EnvDiff(k, old.get(k), new.get(k), k in SOFTENING) for k in keys if old.get(k) != new.get(k)]
