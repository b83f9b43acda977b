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

from bench import record
from bench.errors import UserError

#: 1: the first release; 2: columns size and sampler_options, reference keys by cell identity
SCHEMA_VERSION = 2

#: the tables besides `cells` (whose columns come from bench.record), all owned here
TABLES: dict[str, str] = {
    "meta": "key TEXT PRIMARY KEY, value TEXT",
    "runs": "run_id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT, finished_at TEXT, argv TEXT, environment TEXT",
    # a group's reference solution (bench.metrics.references), keyed by the group's identity and method
    "metric_references": "key TEXT PRIMARY KEY, latents BLOB, latents_shape TEXT, latents_dtype TEXT, "
    "image BLOB, image_shape TEXT, error REAL, info TEXT",
    # the mixture component each cell reached (bench.metrics.coverage)
    "metric_components": "cell_id TEXT PRIMARY KEY, group_key TEXT, component INTEGER",
    # Inception features of a cell's image and its reference (bench.metrics.distribution: FID, KID)
    "metric_features": "cell_id TEXT, kind TEXT, set_key TEXT, features BLOB, PRIMARY KEY (cell_id, kind)",
}


def _column_sql(c: record.Column) -> str:
    return f"{c.name} {c.sql}" + (" PRIMARY KEY" if c.name == "cell_id" else " NOT NULL" if c.name == "status" else "")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """A run directory. The driver process is its single writer."""

    def __init__(self, run_dir: Path, connection: sqlite3.Connection) -> None:
        self.run_dir = run_dir
        self.db = connection

    @classmethod
    def open(
        cls, run_dir: str | Path, create: bool = True, readonly: bool = False, lock_is_ours: bool = False
    ) -> "Store":
        """Open (or create) a run's store; `readonly` writes nothing at all (bench.store_open)."""
        from bench.store_open import connect_readonly, damaged, private_copy

        run_dir = Path(run_dir)
        path = run_dir / "results.sqlite"
        if (readonly or not create) and not path.is_file():
            raise UserError(f"{run_dir}: not a run directory (no results.sqlite)")
        try:
            if readonly:
                store = cls(run_dir, connect_readonly(path, lock_is_ours))
                if store._outdated():  # an older release's store: migrate a private copy, never the file
                    store.db.close()
                    store = cls(run_dir, private_copy(path))
                    store._migrate()
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

    def _outdated(self) -> bool:
        """Whether this store lacks a declared column or is of an older schema (read-only check)."""
        found = {r[1] for r in self.db.execute("PRAGMA table_info(cells)")}
        if not found:
            raise UserError(f"{self.run_dir}: results.sqlite has no cells table: not a samplerbench run")
        self._check_foreign(found)
        version = self.get_meta("schema_version")
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise UserError(
                f"{self.run_dir}: results schema version {version}, this samplerbench reads up to "
                f"{SCHEMA_VERSION}; use a newer samplerbench"
            )
        return version != SCHEMA_VERSION or any(c.name not in found for c in record.columns())

    def _check_foreign(self, found: set[str]) -> None:
        """Every release's cells table has the record's head columns; a table without them is not ours."""
        if found and not {c.name for c in record.HEAD} <= found:
            raise UserError(
                f"{self.run_dir}: results.sqlite was written by another program or by another samplerbench "
                "version (its cells table lacks cell_id/status); use a new output directory"
            )

    def _migrate(self) -> None:
        """Create the tables, add columns declared since the store was made, and upgrade old versions."""
        declared = record.columns()
        new = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cells'").fetchone() is None
        with self.db:
            for name, columns in TABLES.items():
                self.db.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
            self.db.execute(f"CREATE TABLE IF NOT EXISTS cells ({', '.join(map(_column_sql, declared))})")
            found = {r[1] for r in self.db.execute("PRAGMA table_info(cells)")}
            self._check_foreign(found)
            for c in declared:
                if c.name not in found:
                    self.db.execute(f"ALTER TABLE cells ADD COLUMN {c.name} {c.sql}")
        version = self.get_meta("schema_version")
        if version is None:
            version = SCHEMA_VERSION if new else 1
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise UserError(
                f"{self.run_dir}: results schema version {version}, this samplerbench reads up to "
                f"{SCHEMA_VERSION}; use a newer samplerbench or a new output directory"
            )
        for step in range(version, SCHEMA_VERSION):
            with self.db:
                from bench.store_migrations import MIGRATIONS

                MIGRATIONS[step](self.db)
        self.set_meta("schema_version", SCHEMA_VERSION)

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
            cursor = self.db.execute(
                "INSERT INTO runs (started_at, argv, environment) VALUES (?, ?, ?)",
                (utc_now(), json.dumps(argv), json.dumps(environment)),
            )
        return int(cursor.lastrowid or 0)

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
        self.write_cells([row])

    def write_cells(self, rows: list[dict[str, Any]]) -> None:
        """Insert or replace finished cells in one transaction (their PNGs must already be on disk);
        every key must be a declared column (bench.record): a misspelt field is an error, never a NULL."""
        declared = record.columns()
        known = {c.name for c in declared}
        unknown = {key for row in rows for key in row} - known
        if unknown:
            raise KeyError(f"not declared in bench.record: {', '.join(sorted(unknown))}")
        names = ", ".join(c.name for c in declared)
        marks = ", ".join("?" for _ in declared)
        values = [[c.encode(row.get(c.name)) for c in declared] for row in rows]
        with self.db:
            self.db.executemany(f"INSERT OR REPLACE INTO cells ({names}) VALUES ({marks})", values)

    def refresh_params(self, params: dict[str, dict[str, Any]]) -> None:
        """Rewrite the axis columns of stored cells ({cell id: params}): labels are not identity, so a
        resumed run shows today's labels (a model's label, say) on its old cells too."""
        if not params:
            return
        names = [c.name for c in record.axis_columns()]
        sets = ", ".join(f"{n} = ?" for n in names)
        encode = {c.name: c.encode for c in record.axis_columns()}
        rows = [[encode[n](p.get(n)) for n in names] + [cid] for cid, p in params.items()]
        with self.db:
            self.db.executemany(f"UPDATE cells SET {sets} WHERE cell_id = ?", rows)

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
                self.db.execute(
                    "UPDATE cells SET metrics = ?, notes = ? WHERE cell_id = ?",
                    (json.dumps(merged), json.dumps(kept + notes), cell_id),
                )

    # --- what the metrics keep between batches and runs --------------------------------------------
    def get_reference(self, key: str) -> tuple | None:
        """(latents, latents_shape, latents_dtype, image, image_shape, error, info) of a stored reference."""
        return self.db.execute(
            "SELECT latents, latents_shape, latents_dtype, image, image_shape, error, info "
            "FROM metric_references WHERE key = ?",
            (key,),
        ).fetchone()

    def put_references(self, rows: list[tuple]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO metric_references VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def put_components(self, rows: list[tuple[str, str, int]]) -> None:
        """(cell id, group key, component) of measured cells."""
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO metric_components VALUES (?, ?, ?)", rows)

    def components(self, cell_ids: list[str]) -> list[tuple[str, int, str | None]]:
        """(cell id, component, the cell's status) for those of `cell_ids` that have a component."""
        marks = ", ".join("?" for _ in cell_ids)
        return self.db.execute(
            f"SELECT m.cell_id, m.component, c.status FROM metric_components m LEFT JOIN cells c "
            f"ON c.cell_id = m.cell_id WHERE m.cell_id IN ({marks})",
            cell_ids,
        ).fetchall()

    def put_features(self, rows: list[tuple[str, str, str, bytes]]) -> None:
        """(cell id, kind, set key, float64 features) of measured cells."""
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO metric_features VALUES (?, ?, ?, ?)", rows)

    def features(self, set_key: str, kind: str) -> list[tuple[str, bytes]]:
        """(cell id, features) of a set's cells that finished ok, by cell id."""
        return self.db.execute(
            "SELECT f.cell_id, f.features FROM metric_features f JOIN cells c ON c.cell_id = f.cell_id "
            "WHERE f.set_key = ? AND f.kind = ? AND c.status = 'ok' ORDER BY f.cell_id",
            (set_key, kind),
        ).fetchall()

    def rows(self) -> Iterable[dict[str, Any]]:
        declared = record.columns()
        names = ", ".join(c.name for c in declared)
        for values in self.db.execute(f"SELECT {names} FROM cells ORDER BY rowid"):
            yield {c.name: c.decode(v) for c, v in zip(declared, values)}

    def close(self) -> None:
        self.db.close()


def results_frame(store: Store):
    """One row per cell; each metric is its own column (absent when no cell has it)."""
    import pandas as pd

    rows = []
    for row in store.rows():
        metrics = row.pop("metrics") or {}
        rows.append({**row, **metrics})
    columns = [c.name for c in record.columns() if c.name != "metrics"]
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
    for name in [c.name for c in record.columns() if c.codec == "json" and c.name != "metrics"]:
        if name in flat:
            flat[name] = flat[name].map(lambda v: json.dumps(v) if v is not None else None)
    from bench.csvsafe import escape_frame
    from bench.safe_write import atomic_path

    with atomic_path(csv_path, "results.csv") as tmp:  # a full disk leaves the old file, not a 0-byte one
        escape_frame(flat).to_csv(tmp, index=False)
    with atomic_path(parquet_path, "results.parquet") as tmp:
        flat.to_parquet(tmp, index=False)
    return [csv_path, parquet_path]
