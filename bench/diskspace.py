"""A full disk or a refused write, said in one line: which folder, how much space is free and needed.

Each cell's PNG and row are written in that order and the row is one SQLite transaction, so a write
that fails leaves the store consistent (the cell is simply not finished); the message says what to
free, and running again resumes.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

#: bytes a run needs besides its images (SQLite pages, WAL, exports), for the estimate
OVERHEAD_BYTES = 1 << 20


def free_bytes(folder: Path) -> int | None:
    """Free bytes on the file system holding `folder` (or its nearest existing parent)."""
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free
            except OSError:
                return None
    return None


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def bytes_per_image(run_dir: Path, width: int, height: int) -> int:
    """The mean size of the run's PNGs so far, else an uncompressed RGB image (an upper bound)."""
    sizes = []
    for path in list((run_dir / "images").glob("*.png"))[:200]:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            continue
    return int(sum(sizes) / len(sizes)) if sizes else width * height * 3 + 1024


def needed_bytes(run_dir: Path, cells_left: int, width: int, height: int) -> int:
    return cells_left * bytes_per_image(run_dir, width, height) + OVERHEAD_BYTES


def disk_full_line(folder: Path, needed: int | None) -> str:
    free = free_bytes(folder)
    have = f" ({human(free)} free)" if free is not None else ""
    want = f"; the rest of the run needs about {human(needed)}" if needed else ""
    return f"disk full in {folder}{have}{want}. Finished cells are saved; free some space and run again to resume"


def os_error_line(exc: OSError) -> str:
    """One line for an OSError that reached the CLI (the file it concerns, and what went wrong)."""
    name = exc.filename
    if exc.errno == errno.ENOSPC:
        folder = Path(name).parent if name else Path.cwd()
        return disk_full_line(folder, None)
    where = f"{name}: " if name else ""
    return f"{where}{exc.strerror or os.strerror(exc.errno or 0)}"
