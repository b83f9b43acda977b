"""Upgrades of a run's store from one schema version to the next (asv `results.py` update_to_N).

`MIGRATIONS[n]` turns a version-n store into version n+1 inside one transaction; new columns already
exist (the store adds every declared column before migrating), so a migration only fills them in.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Callable
from urllib.parse import parse_qsl


def _options(sampler_id: str | None) -> str | None:
    """The options part of a sampler id ("k:euler/karras?eta=0.5" -> {"eta": "0.5"}) as JSON."""
    if not sampler_id or "?" not in sampler_id:
        return None
    return json.dumps({k: _value(v) for k, v in parse_qsl(sampler_id.split("?", 1)[1])})


def _value(text: str) -> object:
    """An option value as the sampler id wrote it (Python's str) back to its type where that is clear."""
    lowered = {"True": "true", "False": "false", "None": "null"}.get(text, text)
    try:
        return json.loads(lowered)
    except json.JSONDecodeError:
        return text


def _to_2(db: sqlite3.Connection) -> None:
    """Version 1 -> 2: fill `size` and `sampler_options`; key references by the cell's identity."""
    db.execute("UPDATE cells SET size = width || 'x' || height WHERE size IS NULL AND width IS NOT NULL")
    rows = db.execute("SELECT cell_id, sampler_id FROM cells WHERE sampler_id LIKE '%?%'").fetchall()
    db.executemany(
        "UPDATE cells SET sampler_options = ? WHERE cell_id = ?", [(_options(sid), cid) for cid, sid in rows]
    )
    for (key,) in db.execute("SELECT key FROM metric_references").fetchall():
        old = json.loads(key)
        if "cell" in old:
            continue
        cell = {
            "v": 1,
            "model": json.loads(old["model"]),
            "prompt": old["prompt"],
            "negative_prompt": old["negative"],
            "seed": old["seed"],
            "cfg_scale": old["cfg"],
            "width": old["width"],
            "height": old["height"],
            "clip_skip": old["clip_skip"],
        }
        new = json.dumps({"cell": cell, "method": old["method"]}, sort_keys=True)
        db.execute("UPDATE OR REPLACE metric_references SET key = ? WHERE key = ?", (new, key))


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {1: _to_2}
