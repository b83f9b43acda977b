"""The explorer's thumbnail cache: the same page with or without it, reused across builds, never trusted blindly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from reports.embed import EmbedMode
from reports.explorer import _thumbs
from reports.thumb_cache import FILE


def _run(folder: Path, n: int, side: int = 200) -> pd.DataFrame:
    """n PNGs larger than a thumbnail (so each becomes a JPEG), as the cells of a run."""
    rng = np.random.default_rng(n)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(n):
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "images" / f"{i}.png")
        names.append(f"images/{i}.png")
    return pd.DataFrame({"status": ["ok"] * n, "image": names})


def _uris(results: pd.DataFrame, folder: Path) -> list[str]:
    return [t.uri for t in _thumbs(results, folder, EmbedMode(), None)]


def _rows(folder: Path) -> int:
    with sqlite3.connect(folder / FILE) as db:
        return db.execute("SELECT count(*) FROM thumbs").fetchone()[0]


def test_a_rebuild_reuses_the_thumbnails_and_gives_the_same_page(tmp_path, monkeypatch) -> None:
    results = _run(tmp_path, 4)
    cold = _uris(results, tmp_path)
    assert all(u.startswith("data:image/jpeg;base64,") for u in cold) and _rows(tmp_path) == 4
    (tmp_path / FILE).unlink()
    assert _uris(results, tmp_path) == cold  # built again from scratch: identical bytes
    with monkeypatch.context() as m:  # warm: no image is shrunk again
        m.setattr(Image.Image, "thumbnail", lambda *a, **k: pytest.fail("a cached thumbnail was made again"))
        assert _uris(results, tmp_path) == cold


def test_entries_no_build_uses_are_dropped(tmp_path) -> None:
    results = _run(tmp_path, 4)
    _uris(results, tmp_path)
    _uris(results.iloc[:2], tmp_path)
    assert _rows(tmp_path) == 2


def test_a_broken_cache_file_changes_nothing(tmp_path) -> None:
    results = _run(tmp_path, 3)
    expected = _uris(results, tmp_path)
    (tmp_path / FILE).write_bytes(b"not a database, " * 64)
    before = (tmp_path / FILE).read_bytes()
    assert _uris(results, tmp_path) == expected
    assert (tmp_path / FILE).read_bytes() == before  # left as it was


def test_an_entry_that_is_not_a_jpeg_is_made_again(tmp_path) -> None:
    results = _run(tmp_path, 2)
    expected = _uris(results, tmp_path)
    with sqlite3.connect(tmp_path / FILE) as db:
        db.execute("UPDATE thumbs SET jpeg = ?", (b"<script>alert(1)</script>",))
    assert _uris(results, tmp_path) == expected
    with sqlite3.connect(tmp_path / FILE) as db:
        assert all(j.startswith(b"\xff\xd8\xff") for (j,) in db.execute("SELECT jpeg FROM thumbs"))


def test_small_images_or_linked_pages_make_no_cache_file(tmp_path) -> None:
    small = _run(tmp_path / "small", 2, side=16)  # embedded as they are
    assert all(u.startswith("data:image/png") for u in _uris(small, tmp_path / "small"))
    large = _run(tmp_path / "large", 2)
    assert [t.uri for t in _thumbs(large, tmp_path / "large", EmbedMode(embed=False), None)] == list(large.image)
    assert not (tmp_path / "small" / FILE).exists() and not (tmp_path / "large" / FILE).exists()
