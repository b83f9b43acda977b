"""What a check finds: one `Finding` per change, the `Context` every check reads, and their order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.check.baseline import CellRecord
from bench.check.tolerances import Gate

#: finding kinds, in report order; the first two fail the check (exit 1)
KINDS = ("regression", "missing", "improvement", "warning", "new")
FAILING = frozenset({"regression", "missing"})


@dataclass(frozen=True)
class Finding:
    kind: str
    check: str  # status | nfe | time | memory | quality:<metric> | drift | cell
    cell_id: str  # "" for a finding about several cells or the whole run
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    baseline: str = ""
    current: str = ""
    change: str = ""
    detail: str = ""
    cells: tuple[str, ...] = ()  # every cell the finding covers (a timing workload); empty: just cell_id

    @property
    def cell_ids(self) -> tuple[str, ...]:
        return self.cells or ((self.cell_id,) if self.cell_id else ())


@dataclass(frozen=True)
class Context:
    gate: Gate
    soften: bool  # environments differ and not --strict: time and memory failures become warnings
    factor: float  # machine factor that baseline times are multiplied by (1.0 unless --normalise)
    devices: tuple[Any, Any]  # (baseline, run) device


def finding(kind: str, check: str, cell: CellRecord, **text: str) -> Finding:
    return Finding(kind, check, cell.cell_id, cell.params, **text)  # type: ignore[arg-type]


def pct(new: float, old: float) -> str:
    return f"{(new / old - 1) * 100:+.1f}%" if old else ("+inf%" if new else "+0.0%")


def cell_order(params: dict[str, Any], cell_id: str) -> tuple:
    """Sampler, steps, prompt, seed: the order of every listing of cells."""
    p = params
    return (str(p.get("sampler_id")), p.get("steps") or 0, str(p.get("prompt")), p.get("seed") or 0, cell_id)


def report_order(f: Finding) -> tuple:
    return (KINDS.index(f.kind), *cell_order(f.params, f.cell_id), f.check)
