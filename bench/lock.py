"""One `bench run` per run folder: an advisory lock (flock) on RUN_DIR/.lock, held for the whole run.

Two runs on one folder would redo each other's cells and race on the store; the second is refused with
a line that names the holder, or waits for it with `--wait`. The kernel drops the lock when its holder
exits, kill -9 included, so a stale lock file never blocks anyone. Readers never take it; they only ask
whether a writer is active (bench.store_open).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.errors import UserError

LOCK_NAME = ".lock"


def _holder(handle) -> str:
    handle.seek(0)
    text = handle.read(200).strip()
    return f" ({text})" if text else ""


@contextmanager
def run_lock(run_dir: str | Path, wait: bool = False) -> Iterator[None]:
    """Hold RUN_DIR/.lock for the block; refuse at once when another process holds it (unless `wait`)."""
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    path = run_dir / LOCK_NAME
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held (locked) for the run, closed below
    except OSError as exc:
        raise UserError(f"{run_dir}: cannot use this folder as the run folder: {exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise UserError(
                    f"{run_dir} is in use by another `bench run`{_holder(handle)}; wait for it to "
                    "finish, or pass --wait to queue behind it"
                ) from None
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock
        if created and _only_lock_left(run_dir):  # a refused run leaves no empty folder behind
            path.unlink(missing_ok=True)
            run_dir.rmdir()


def _only_lock_left(run_dir: Path) -> bool:
    try:
        return [p.name for p in run_dir.iterdir()] == [LOCK_NAME]
    except OSError:
        return False


def writer_active(run_dir: Path) -> bool:
    """Whether a `bench run` (any process, this one included) holds RUN_DIR/.lock now."""
    try:
        with open(run_dir / LOCK_NAME, "rb") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False
    except OSError:
        return False
