"""How a results.sqlite is opened: writers read-write in WAL mode, readers without writing a byte.

Readers (`bench check`, `bench baseline`, `bench report`, `bench.load_results`) must work on a read-only
run folder (a CI artifact, another user's run) and leave every file as it was. SQLite's `immutable=1`
reads the main file without locks or side files; it is used when no `bench run` holds the folder and no
write-ahead log is pending. Otherwise `mode=ro` reads the log too; where that cannot create SQLite's
shared-memory file (a read-only folder after a killed run), a private copy in a temp folder is read.
"""
from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from pathlib import Path

from bench.errors import UserError


def damaged(path: Path, exc: BaseException) -> UserError:
    """The one-line error of a file that is not a readable results database."""
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc):
        return UserError(f"{path}: cannot open the results database ({exc}); is its folder writable?")
    return UserError(f"{path}: not a readable samplerbench results database ({exc}); "
                     "it may be truncated or damaged: rerun into a new output folder")


def connect_readonly(path: Path) -> sqlite3.Connection:
    """A connection that cannot write `path` nor create anything next to it (see the module doc)."""
    from bench.lock import writer_active

    wal = path.with_name(path.name + "-wal")
    uri = path.resolve().as_uri()
    if not _nonempty(wal) and not writer_active(path.parent):
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        return _private_copy(path, wal)


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _private_copy(path: Path, wal: Path) -> sqlite3.Connection:
    """Read a copy of the database and its pending log (SQLite replays the log on the copy)."""
    folder = Path(tempfile.mkdtemp(prefix="samplerbench-ro-"))
    atexit.register(shutil.rmtree, folder, True)
    shutil.copy2(path, folder / path.name)
    if wal.is_file():
        shutil.copy2(wal, folder / wal.name)
    return sqlite3.connect(folder / path.name)


class StoreVersionError(UserError):
    """A results store of another samplerbench version: readable only by that version."""


def check_readable(columns: list[str], found: list[str], run_dir: Path) -> None:
    """A reader can only read the columns this version writes (migrating would be a write)."""
    if not found:
        raise UserError(f"{run_dir}: results.sqlite has no cells table: not a samplerbench run")
    if found != columns:
        raise StoreVersionError(f"{run_dir}: results.sqlite was written by another samplerbench version (its columns "
                        "differ); read it with the version that wrote it")
