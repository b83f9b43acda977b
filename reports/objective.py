"""What the report optimises: one objective metric and constraints on others, from the benchmark file.

    report: {objective: ode_error, constraints: {alignment: ">= 0.95"}}
    report: {objective: time, constraints: {ode_error: "<= 0.001"}}   # the fastest good enough

The harness validates it with `parse` while reading the benchmark file and saves it in the run's meta;
the report reads it back from there. Without it, the default follows the model: the exact ODE error on
the analytic model, else the CLIP score (real weights), else the distance to a reference solution.
Kept free of pandas so the harness can import it while parsing configs.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from reports.metrics import METRICS

OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
SHOWN_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<"}
#: default objective, first present wins (clip_score only with real weights)
DEFAULT_ORDER: tuple[str, ...] = ("ode_error", "clip_score", "ref_rmse", "ref_psnr")


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    value: float

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and bool(OPS[self.op](value, self.value))

    @property
    def text(self) -> str:
        return f"{METRICS[self.metric].label} {SHOWN_OPS[self.op]} {self.value:g}"


@dataclass(frozen=True)
class Objective:
    metric: str | None  # None: no quality was measured, time alone decides
    constraints: tuple[Constraint, ...] = ()
    source: str = "default"  # "benchmark file" or "default"


def _constraint(metric: str, text: Any) -> Constraint:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r} in constraints; known: {', '.join(METRICS)}")
    raw = str(text).strip()
    op = next((o for o in sorted(OPS, key=len, reverse=True) if raw.startswith(o)), None)
    try:
        value = float(raw[len(op) :]) if op else math.nan
    except ValueError:
        value = math.nan
    if op is None or math.isnan(value):
        raise ValueError(
            f'constraint on {metric} must read like ">= 0.95" (one of {", ".join(OPS)} and a number), got {raw!r}'
        )
    return Constraint(metric, op, value)


def parse(data: Any) -> dict[str, Any]:
    """Validate the `report:` section; returns it as plain data (what the run's meta keeps)."""
    if not isinstance(data, Mapping):
        raise TypeError('report: is a mapping such as {objective: ode_error, constraints: {alignment: ">= 0.95"}}')
    unknown = set(data) - {"objective", "constraints"}
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; allowed: objective, constraints")
    objective = data.get("objective")
    if objective is not None and objective != "time" and objective not in METRICS:
        raise ValueError(f"unknown objective {objective!r}; one of: time, {', '.join(METRICS)}")
    constraints = data.get("constraints") or {}
    if not isinstance(constraints, Mapping):
        raise TypeError('constraints is a mapping {metric: ">= value"}')
    for metric, text in constraints.items():
        _constraint(str(metric), text)
    return {"objective": objective, "constraints": {str(k): str(v) for k, v in constraints.items()}}


def resolve(setting: Mapping[str, Any] | None, present: Iterable[str], random_weights: bool) -> Objective:
    """The objective for this run: the benchmark's own, else the model's default among present metrics."""
    names = list(present)
    setting = setting or {}
    constraints = tuple(_constraint(m, t) for m, t in (setting.get("constraints") or {}).items())
    chosen = setting.get("objective")
    if chosen:  # "time": the fastest configuration that meets the constraints
        return Objective(None if chosen == "time" else chosen, constraints, "benchmark file")
    usable = [n for n in DEFAULT_ORDER if n in names and not (METRICS[n].needs_real_weights and random_weights)]
    return Objective(usable[0] if usable else None, constraints, "benchmark file" if constraints else "default")
