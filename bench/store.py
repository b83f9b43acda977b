"""The results store: one run directory with `results.sqlite`, `images/<cell_id>.png` and exports.

Each finished cell is one committed row (INSERT OR REPLACE on its id) written right after its PNG
(atomic rename), so a run killed at any moment, kill -9 included, resumes with nothing lost and
nothing duplicated. Raw timing repeats are kept; medians are derived (STYLE.md 6).
"""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from bench.errors import UserError

SCHEMA_VERSION = 1

#: (column, SQL type) in the order of the table and of `load_results`
COLUMNS: tuple[tuple[str, str], ...] = (
    ("cell_id", "TEXT PRIMARY KEY"), ("status", "TEXT NOT NULL"), ("error", "TEXT"),
    ("model", "TEXT"), ("prompt", "TEXT"), ("negative_prompt", "TEXT"), ("seed", "INTEGER"),
    ("sampler", "TEXT"), ("sampler_id", "TEXT"), ("family", "TEXT"), ("algorithm", "TEXT"),
    ("schedule", "TEXT"), ("stochastic", "INTEGER"), ("steps", "INTEGER"), ("cfg_scale", "REAL"),
    ("width", "INTEGER"), ("height", "INTEGER"), ("clip_skip", "INTEGER"), ("batch_size", "INTEGER"),
    ("nfe", "INTEGER"), ("encode_s", "REAL"), ("sample_s", "REAL"), ("decode_s", "REAL"),
    ("total_s", "REAL"), ("sample_s_repeats", "TEXT"), ("peak_mem_bytes", "INTEGER"),
    ("peak_mem_reserved_bytes", "INTEGER"), ("peak_mem_kind", "TEXT"), ("image", "TEXT"),
    ("fingerprint", "TEXT"), ("random_weights", "INTEGER"), ("metrics", "TEXT"), ("notes", "TEXT"),
    ("run_id", "INTEGER"), ("finished_at", "TEXT"),
)
_JSON_COLUMNS = ("sample_s_repeats", "fingerprint", "metrics", "notes")
_BOOL_COLUMNS = ("stochastic", "random_weights")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """A run directory. The driver process is its single writer."""

    def __init__(self, run_dir: Path, connection: sqlite3.Connection) -> None:
        self.run_dir = run_dir
        self.db = connection

    @classmethod
    def open(cls, run_dir: str | Path, create: bool = True, readonly: bool = False) -> "Store":
        """Open (or create) a run's store; `readonly` writes nothing at all (bench.store_open)."""
        from bench.store_open import check_readable, connect_readonly, damaged

        run_dir = Path(run_dir)
        path = run_dir / "results.sqlite"
        if (readonly or not create) and not path.is_file():
            raise UserError(f"{run_dir}: not a run directory (no results.sqlite)")
        try:
            if readonly:
                store = cls(run_dir, connect_readonly(path))
                check_readable([n for n, _ in COLUMNS], [r[1] for r in store.db.execute("PRAGMA table_info(cells)")],
                               run_dir)
                return store
            run_dir.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            store = cls(run_dir, db)
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise damaged(path, exc) from None
        if create:
            for partial in (run_dir / "images").glob(".*.tmp"):  # a write cut short by a kill
                partial.unlink(missing_ok=True)
        return store

    def _migrate(self) -> None:
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self.db.execute("CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, "
                            "started_at TEXT, finished_at TEXT, argv TEXT, environment TEXT)")
            columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS)
            self.db.execute(f"CREATE TABLE IF NOT EXISTS cells ({columns})")
        found = [r[1] for r in self.db.execute("PRAGMA table_info(cells)")]
        if found != [name for name, _ in COLUMNS]:
            raise UserError(f"{self.run_dir}: results.sqlite was written by another samplerbench version "
                            "(its columns differ); use a new output directory")
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise UserError(f"{self.run_dir}: results schema version {version}, this samplerbench reads "
                            f"{SCHEMA_VERSION}; use a new output directory")

    # --- metadata -------------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def meta(self) -> dict[str, Any]:
        out = {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}
        last = self.db.execute("SELECT environment FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()
        out.setdefault("environment", json.loads(last[0]) if last and last[0] else {})
        out.setdefault("warnings", [])
        out.setdefault("notes", [])
        return out

    def begin_run(self, argv: list[str], environment: dict[str, Any]) -> int:
        with self.db:
            cursor = self.db.execute("INSERT INTO runs (started_at, argv, environment) VALUES (?, ?, ?)",
                                     (utc_now(), json.dumps(argv), json.dumps(environment)))
        return int(cursor.lastrowid)

    def end_run(self, run_id: int) -> None:
        with self.db:
            self.db.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", (utc_now(), run_id))

    # --- cells ----------------------------------------------------------------------------------
    def done_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT cell_id FROM cells WHERE status = 'ok'")}

    def image_path(self, cell_id: str) -> Path:
        return self.run_dir / "images" / f"{cell_id}.png"

    def write_cell(self, row: dict[str, Any]) -> None:
        """Insert or replace one finished cell (its PNG must already be on disk)."""
        values = []
        for name, _ in COLUMNS:
            value = row.get(name)
            if name in _JSON_COLUMNS and value is not None:
                value = json.dumps(value)
            elif name in _BOOL_COLUMNS and value is not None:
                value = int(bool(value))
            values.append(value)
        marks = ", ".join("?" for _ in COLUMNS)
        with self.db:
            self.db.execute(f"INSERT OR REPLACE INTO cells VALUES ({marks})", values)

    def update_metrics(self, updates: dict[str, tuple[dict[str, Any], list[str]]]) -> None:
        """Merge {cell_id: (metrics, notes)} into finished cells in one transaction (group-level metrics).

        A metric's new notes replace its old ones (notes of metric m start with "m:").
        """
        with self.db:
            for cell_id, (metrics, notes) in updates.items():
                row = self.db.execute("SELECT metrics, notes FROM cells WHERE cell_id = ?", (cell_id,)).fetchone()
                if row is None:
                    continue
                prefixes = tuple(f"{name}:" for name in metrics)
                kept = [n for n in json.loads(row[1] or "[]") if not n.startswith(prefixes)]
                merged = {**json.loads(row[0] or "{}"), **metrics}
                self.db.execute("UPDATE cells SET metrics = ?, notes = ? WHERE cell_id = ?",
                                (json.dumps(merged), json.dumps(kept + notes), cell_id))

    def rows(self) -> Iterable[dict[str, Any]]:
        names = [name for name, _ in COLUMNS]
        for values in self.db.execute(f"SELECT {', '.join(names)} FROM cells ORDER BY rowid"):
            row = dict(zip(names, values))
            for name in _JSON_COLUMNS:
                row[name] = json.loads(row[name]) if row[name] is not None else None
            for name in _BOOL_COLUMNS:
                row[name] = bool(row[name]) if row[name] is not None else None
            yield row

    def close(self) -> None:
        self.db.close()


def results_frame(store: Store):
    """One row per cell; each metric is its own column (absent when no cell has it)."""
    import pandas as pd

    rows = []
    for row in store.rows():
        metrics = row.pop("metrics") or {}
        rows.append({**row, **metrics})
    columns = [name for name, _ in COLUMNS if name != "metrics"]
    frame = pd.DataFrame(rows)
    return frame if rows else pd.DataFrame(columns=columns)


def load_results(run_dir: str | Path):
    """`bench.load_results(run_dir)`: the run's cells as a pandas DataFrame."""
    store = Store.open(run_dir, readonly=True)
    try:
        return results_frame(store)
    except sqlite3.DatabaseError as exc:
        from bench.store_open import damaged

        raise damaged(store.run_dir / "results.sqlite", exc) from None
    finally:
        store.close()


def export(store: Store) -> list[Path]:
    """Write results.csv and results.parquet next to the database."""
    frame = results_frame(store)
    csv_path, parquet_path = store.run_dir / "results.csv", store.run_dir / "results.parquet"
    flat = frame.copy()
    for name in ("sample_s_repeats", "fingerprint", "notes"):
        if name in flat:
            flat[name] = flat[name].map(lambda v: json.dumps(v) if v is not None else None)
    from bench.csvsafe import escape_frame
    from bench.safe_write import atomic_path

    with atomic_path(csv_path, "results.csv") as tmp:  # a full disk leaves the old file, not a 0-byte one
        escape_frame(flat).to_csv(tmp, index=False)
    with atomic_path(parquet_path, "results.parquet") as tmp:
        flat.to_parquet(tmp, index=False)
    return [csv_path, parquet_path]
