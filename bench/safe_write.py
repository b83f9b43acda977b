"""Atomic file writes with temp names unique per process, and OSErrors turned into one-line UserErrors.

Every file the harness writes goes through a temp file next to its target (`.NAME.<pid>.<random>.tmp`)
and an `os.replace`, so a reader never sees half a file, two processes never share a temp file, and a
failed write (full disk, read-only folder, a folder where the file should be) leaves nothing behind.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.errors import UserError


def temp_name(path: Path) -> Path:
    """A hidden sibling of `path` no other process or thread can pick: pid and 48 random bits."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp")


def os_error_message(exc: OSError, what: str, path: Path) -> str:
    """One line for an OSError met while writing `path` (`what`: 'the baseline', 'results.csv', ...)."""
    if exc.errno == errno.ENOSPC:
        return f"disk full while writing {what} in {path.parent}"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write {what} to {path}: the folder {path.parent} is not writable ({exc.strerror})"
    return f"cannot write {what} to {path}: {exc.strerror or exc}"


def check_target(path: Path, what: str) -> None:
    """Refuse a target that is a folder, or whose parent is a file, before anything is written."""
    if path.is_dir():
        raise UserError(f"{path}: is a folder; give a file name for {what}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{path}: {parent} is a file, not a folder; cannot write {what} there")
            break


@contextmanager
def atomic_path(path: str | Path, what: str = "the file") -> Iterator[Path]:
    """Yield a temp path to write; on success it replaces `path`, on any failure it is removed.

    An OSError (full disk, permissions, a folder in the way) becomes a one-line UserError naming `what`.
    """
    path = Path(path)
    check_target(path, what)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_name(path)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        error = UserError(os_error_message(exc, what, path))
        error.os_errno = exc.errno  # lets `bench run` say a full disk with the space it needs
        raise error from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str, what: str = "the file") -> Path:
    """Write `text` (UTF-8) to `path` atomically; see `atomic_path`."""
    with atomic_path(path, what) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def check_writable_folder(folder: Path, what: str) -> None:
    """Refuse, before any work, a folder that is a file, sits under a file, or cannot be written."""
    import os

    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder}: is a file, not a folder; give a folder for {what}")
    for existing in (folder, *folder.parents):
        if existing.exists():
            if not existing.is_dir():
                raise UserError(f"{folder}: {existing} is a file, not a folder; cannot create {what} there")
            if not os.access(existing, os.W_OK | os.X_OK):
                raise UserError(f"{folder}: {existing} is not writable; give a writable folder for {what}")
            return
