"""Cheap checks that a run's PNGs are whole, so resume reruns a cell whose image was cut short.

A PNG ends with a fixed 12-byte IEND chunk; a file cut short by a full disk, a copy interrupted or a
hand edit lacks it. Reading 8 header bytes and the last 12 is enough to tell, with no decoding, so a
resume checks every finished cell at about the cost of a `stat`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"


def png_intact(path: Path) -> bool:
    """True when `path` starts with the PNG signature and ends with the IEND chunk."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SIGNATURE))
            handle.seek(0, 2)
            if handle.tell() < len(SIGNATURE) + len(IEND):
                return False
            handle.seek(-len(IEND), 2)
            return head == SIGNATURE and handle.read(len(IEND)) == IEND
    except OSError:
        return False


def broken_images(ids: Iterable[str], image_path) -> set[str]:
    """The ids among `ids` whose image (image_path(id) -> Path) is missing or not a whole PNG."""
    return {cell_id for cell_id in ids if not png_intact(image_path(cell_id))}
