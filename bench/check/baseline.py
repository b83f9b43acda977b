"""Snapshots of a run (what `bench check` compares) and the versioned baseline file that stores one.

Format (`"format": "samplerbench-baseline"`, `"version": 1`): a JSON object with keys in sorted order,
two-space indent, lists of numbers on one line and floats rounded (times and metrics to 6 significant
digits), so a regenerated baseline gives a readable `git diff`:

    created        when the baseline was written (UTC)
    run            {name, created, schema_version}: the run it was taken from
    model          the model identity of the run
    environment    python, platform, cpu, cpu_count, packages, git, device, device_name, torch_threads
    tolerances     the `check:` settings in force when it was written (same keys as the YAML section)
    cells          cell id -> {params, status, error, nfe, batch_size, sample_s_repeats (every timing
                   repeat, seconds per image), peak_mem_bytes, peak_mem_kind, metrics {name: value},
                   fingerprint (4x4 per-channel average of the clean latents)}

A reader refuses any other format or version (exit 2) rather than guess.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from bench.check.tolerances import nest, parse_section
from bench.errors import UserError
from bench.record import param_columns

FORMAT = "samplerbench-baseline"
VERSION = 1


@dataclass(frozen=True)
class CellRecord:
    """One cell as `bench check` sees it, on either side of the comparison."""

    cell_id: str
    params: dict[str, Any]
    status: str
    error: str | None = None
    nfe: int | None = None
    batch_size: int | None = None
    sample_s_repeats: tuple[float, ...] = ()
    peak_mem_bytes: int | None = None
    peak_mem_kind: str | None = None
    metrics: dict[str, float | None] = field(default_factory=dict)
    fingerprint: tuple[float, ...] | None = None


@dataclass(frozen=True)
class Snapshot:
    """A run or a baseline: its cells and what they were measured on."""

    name: str
    created: str | None
    environment: dict[str, Any]
    model: dict[str, Any]
    tolerances: dict[str, Any]  # flat check settings this side carries
    cells: dict[str, CellRecord]
    source: str  # the run directory or baseline file, for messages


def round_sig(value: float, digits: int = 6) -> float:
    return float(f"{value:.{digits}g}")


def _metric(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return round_sig(float(value)) if math.isfinite(value) else None


def record_from_row(row: Mapping[str, Any]) -> CellRecord:
    """A store row (bench.store.Store.rows) -> CellRecord, rounded as the baseline file stores it."""
    repeats = tuple(round_sig(float(t)) for t in (row.get("sample_s_repeats") or []))
    fingerprint = row.get("fingerprint")
    return CellRecord(
        cell_id=row["cell_id"],
        params={k: row.get(k) for k in param_columns()},
        status=row["status"],
        error=row.get("error"),
        nfe=row.get("nfe"),
        batch_size=row.get("batch_size"),
        sample_s_repeats=repeats,
        peak_mem_bytes=row.get("peak_mem_bytes"),
        peak_mem_kind=row.get("peak_mem_kind"),
        metrics={str(k): _metric(v) for k, v in (row.get("metrics") or {}).items()},
        fingerprint=tuple(float(v) for v in fingerprint) if fingerprint is not None else None,
    )


def snapshot_run(run_dir: str | Path) -> Snapshot:
    """Read a run directory (exit 2 if it is not one)."""
    from bench.store import Store

    store = Store.open(run_dir, readonly=True)
    try:
        meta = store.meta()
        cells = {row["cell_id"]: record_from_row(row) for row in store.rows()}
    finally:
        store.close()
    check = meta.get("check") or {}
    tolerances = parse_section(
        check,
        lambda path, msg: UserError(
            f"{run_dir}: the run's saved check: settings are invalid at {'.'.join(map(str, path))}: {msg}"
        ),
    )
    return Snapshot(
        name=str(meta.get("name") or Path(run_dir).name),
        created=meta.get("created"),
        environment=meta.get("environment") or {},
        model=meta.get("model") or {},
        tolerances=tolerances,
        cells=cells,
        source=str(run_dir),
    )


# --- the file ------------------------------------------------------------------------------------
def to_document(
    snapshot: Snapshot, tolerances: Mapping[str, Any], created: str, schema_version: int | None = None
) -> dict[str, Any]:
    """The JSON object of a baseline file (`tolerances`: the flat settings in force)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": created,
        "run": {"name": snapshot.name, "created": snapshot.created, "schema_version": schema_version},
        "model": snapshot.model,
        "environment": snapshot.environment,
        "tolerances": nest(tolerances),
        "cells": {cid: _cell_document(c) for cid, c in snapshot.cells.items()},
    }


def _cell_document(cell: CellRecord) -> dict[str, Any]:
    return {
        "params": cell.params,
        "status": cell.status,
        "error": cell.error,
        "nfe": cell.nfe,
        "batch_size": cell.batch_size,
        "sample_s_repeats": list(cell.sample_s_repeats),
        "peak_mem_bytes": cell.peak_mem_bytes,
        "peak_mem_kind": cell.peak_mem_kind,
        "metrics": cell.metrics,
        "fingerprint": list(cell.fingerprint) if cell.fingerprint is not None else None,
    }


def dumps(value: Any, indent: int = 0) -> str:
    """Stable JSON for git: one key per line, keys sorted below the top level (which keeps the document's
    order: format and version first), lists of scalars kept on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, Mapping) and value:
        pairs = sorted(value.items()) if indent else value.items()
        items = [f"{inner}{json.dumps(str(k))}: {dumps(v, indent + 1)}" for k, v in pairs]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, (Mapping, list, tuple)) for v in value):
        return "[\n" + ",\n".join(f"{inner}{dumps(v, indent + 1)}" for v in value) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)


def write_baseline(path: str | Path, document: Mapping[str, Any]) -> Path:
    """Write atomically (unique temp name, nothing left behind on failure; bench.safe_write)."""
    from bench.safe_write import write_text

    return write_text(path, dumps(document) + "\n", "the baseline")


def read_baseline(path: str | Path) -> Snapshot:
    """Load and validate a baseline file; anything unusable is a UserError (exit 2) naming the problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the baseline: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}): not a baseline file") from None
    except RecursionError:
        raise UserError(f"{path}: JSON nested too deeply: not a baseline file") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(
            f'{path}: not a samplerbench baseline (no "format": "{FORMAT}"); '
            f"write one with `bench baseline RUN_DIR -o {path}`"
        )
    if data.get("version") != VERSION:
        raise UserError(
            f"{path}: baseline format version {data.get('version')!r}, this samplerbench reads "
            f"version {VERSION}; re-create it with `bench baseline RUN_DIR -o {path}`"
        )
    for key in ("run", "model", "environment", "tolerances"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            raise UserError(f"{path}: '{key}' must be a mapping, got {type(data[key]).__name__}")
    cells = data.get("cells")
    if not isinstance(cells, dict):
        raise UserError(f"{path}: 'cells' must be a mapping of cell id -> cell")
    tolerances = parse_section(
        data.get("tolerances") or {}, lambda p, msg: UserError(f"{path}: tolerances.{'.'.join(map(str, p))}: {msg}")
    )
    return Snapshot(
        name=str((data.get("run") or {}).get("name") or path.stem),
        created=data.get("created"),
        environment=data.get("environment") or {},
        model=data.get("model") or {},
        tolerances=tolerances,
        cells={cid: _cell_from_document(path, cid, c) for cid, c in cells.items()},
        source=str(path),
    )


def _cell_from_document(path: Path, cell_id: str, cell: Any) -> CellRecord:
    from bench.check.doctypes import DocumentError, cell_fields

    if not isinstance(cell, dict) or not isinstance(cell.get("status"), str):
        raise UserError(f"{path}: cells.{cell_id}: expected a mapping with a 'status'")
    try:
        fields = cell_fields(cell)
    except DocumentError as exc:
        raise UserError(f"{path}: cells.{cell_id}.{exc.key}: {exc}") from None
    return CellRecord(cell_id=cell_id, **fields)
