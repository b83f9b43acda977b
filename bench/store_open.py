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
    return UserError(
        f"{path}: not a readable samplerbench results database ({exc}); "
        "it may be truncated or damaged: rerun into a new output folder"
    )


def connect_readonly(path: Path, lock_is_ours: bool = False) -> sqlite3.Connection:
    """A connection that cannot write `path` nor create anything next to it (see the module doc).
    `lock_is_ours`: this process holds the run's lock (and has not written yet), so no writer is active."""
    from bench.lock import writer_active

    wal = path.with_name(path.name + "-wal")
    uri = path.resolve().as_uri()
    if not _nonempty(wal) and (lock_is_ours or not writer_active(path.parent)):
        return sqlite3.connect(f"{uri}?immutable=1", uri=True)
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30)
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        return private_copy(path)


def _nonempty(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def private_copy(path: Path) -> sqlite3.Connection:
    """A writable copy of the database and its pending log in a temp folder (SQLite replays the log on
    the copy): read where the folder is read-only, or migrated from an older release without touching it."""
    wal = path.with_name(path.name + "-wal")
    folder = Path(tempfile.mkdtemp(prefix="samplerbench-ro-"))
    atexit.register(shutil.rmtree, folder, True)
    shutil.copy2(path, folder / path.name)
    if wal.is_file():
        shutil.copy2(wal, folder / wal.name)
    return sqlite3.connect(folder / path.name)
