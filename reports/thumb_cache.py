"""The explorer's JPEG thumbnails kept between report builds, keyed by the image's content.

A run that is resumed (more seeds, more samplers) rebuilds its report; with real 512 px images each thumbnail
costs about 9 ms to decode, shrink and encode against 0.5 ms to read and hash the file, so a rebuild of a
5,000-image report spent most of its time re-making thumbnails it already had. The cache is one SQLite file
beside report.html; entries are keyed by the SHA-1 of the image file and the thumbnail's side and quality,
and those not used by the latest build are dropped. Anything wrong with the file (unreadable, locked, not a
database, a full disk) or with an entry (not a JPEG) only turns the cache off or skips the entry: the page is
the same as without it, byte for byte.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

FILE = "report-thumbnails.sqlite"
_JPEG_START = b"\xff\xd8\xff"


class ThumbCache:
    """get/put JPEG bytes by image content; `close()` stores the new ones and drops the unused."""

    def __init__(self, folder: Path, variant: str) -> None:
        self.path = folder / FILE
        self.variant = variant  # thumbnail side and quality: another variant is another key
        self.used: set[str] = set()
        self.new: dict[str, bytes] = {}
        self.db: sqlite3.Connection | None = None
        self.broken = False  # opened once and failed: off for this build

    def _open(self, create: bool) -> sqlite3.Connection | None:
        """The database, opened on first need (a run of small images never makes the file)."""
        if self.db is None and not self.broken and (create or self.path.is_file()):
            try:
                self.db = sqlite3.connect(self.path, timeout=0.5)
                self.db.execute("CREATE TABLE IF NOT EXISTS thumbs (key TEXT PRIMARY KEY, jpeg BLOB NOT NULL)")
            except (sqlite3.Error, OSError):
                self._off()
        return self.db

    def key(self, data: bytes) -> str:
        return f"{hashlib.sha1(data).hexdigest()}:{self.variant}"

    def get(self, key: str) -> bytes | None:
        self.used.add(key)
        db = self._open(create=False)
        if db is None:
            return None
        try:
            row = db.execute("SELECT jpeg FROM thumbs WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            self._off()
            return None
        jpeg = row[0] if row else None
        return jpeg if isinstance(jpeg, bytes) and jpeg.startswith(_JPEG_START) else None

    def put(self, key: str, jpeg: bytes) -> None:
        self.used.add(key)
        self.new[key] = jpeg

    def close(self) -> None:
        """Write the new thumbnails and forget those this build did not use, in one transaction."""
        db = self._open(create=bool(self.new))
        if db is None:
            return
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO thumbs VALUES (?, ?)", self.new.items())
                db.execute("CREATE TEMP TABLE used (key TEXT PRIMARY KEY)")
                db.executemany("INSERT INTO used VALUES (?)", ((k,) for k in self.used))
                db.execute("DELETE FROM thumbs WHERE key NOT IN (SELECT key FROM used)")
        except sqlite3.Error:
            pass  # a full disk or a locked file: the next build makes them again
        self._off()

    def _off(self) -> None:
        self.broken = True
        if self.db is not None:
            try:
                self.db.close()
            except sqlite3.Error:
                pass
        self.db = None
