"""The run's axes as the report sees them: plain data handed over by the harness (its cell record).

`reports` never imports `bench`; `bench.record.report_axes()` gives one entry per axis (its display
column, label, whether it sorts as a number, and its role), and every view reads them from here:
"choice" axes are what a user picks (sampler, steps), "task" axes change the task and are never ranked
across (model, size, CFG...), "replicate" axes are averaged over (prompt, seed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AxisInfo:
    column: str
    label: str
    numeric: bool = False
    role: str = "task"
    of: str = ""  # a group's axis: the axis whose values it labels (a prompt's category labels prompts)


@dataclass(frozen=True)
class Axes:
    items: tuple[AxisInfo, ...]
    record_columns: frozenset[str] = frozenset()  # every column the harness declares (axes, measures)
    groups: tuple[AxisInfo, ...] = ()  # labels of cells, not axes (a prompt's suite category): metrics per value

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Axes:
        """From the harness's plain description: {"axes": [{column, label, numeric, role}], "columns": [...],
        "groups": [{column, label, of}]} (`of`: the axis a group labels)."""
        plain: Iterable[Mapping[str, Any]] = record["axes"]
        groups = tuple(
            AxisInfo(str(g["column"]), str(g.get("label") or g["column"]), of=str(g.get("of") or ""))
            for g in record.get("groups", ())
        )
        return cls(
            tuple(
                AxisInfo(
                    str(a["column"]),
                    str(a.get("label") or a["column"]),
                    bool(a.get("numeric")),
                    str(a.get("role") or "task"),
                )
                for a in plain
            ),
            frozenset(record.get("columns", ())),
            groups,
        )

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(a.column for a in self.items)

    def of_role(self, *roles: str) -> tuple[str, ...]:
        return tuple(a.column for a in self.items if a.role in roles)

    def label(self, column: str) -> str:
        for a in self.items:
            if a.column == column:
                return a.label
        return {"batch_size": "batch"}.get(column, column.replace("_", " "))

    def numeric(self, column: str) -> bool:
        return any(a.column == column and a.numeric for a in self.items) or column == "batch_size"
