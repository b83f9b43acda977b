"""`bench report RUN_DIR`: report.html (charts and thumbnails embedded) from the store alone (no model, no GPU).

An unchanged store is not reported twice: the store's fingerprint (every cell row, the metadata and the
report options) is kept in the page, and a rebuild with the same fingerprint only says "report is up to
date", so resuming a finished run costs almost nothing.
"""
from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

FINGERPRINT = re.compile(r'<meta name="samplerbench-fingerprint" content="([0-9a-f]*)">')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory written by `bench run`")
    parser.add_argument("--no-embed", action="store_true",
                        help="link images and charts instead of embedding them (the page then needs its run folder)")
    parser.add_argument("--embed-limit", type=float, default=None, metavar="MB",
                        help="above this many MB of embedded images, link them instead (default: 64)")
    parser.add_argument("--force", action="store_true", help="rebuild even when the store has not changed")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def store_fingerprint(store, options: str) -> str:
    """A hash of every cell row, the run's metadata, the report options and the samplerbench version."""
    from bench import record
    from bench.cli import _version

    digest = hashlib.sha256(f"{_version()}|{options}|".encode())
    names = ", ".join(c.name for c in record.columns())
    for row in store.db.execute(f"SELECT rowid, {names} FROM cells ORDER BY rowid"):
        digest.update(repr(row).encode())
    for row in store.db.execute("SELECT key, value FROM meta ORDER BY key"):
        digest.update(repr(row).encode())
    return digest.hexdigest()[:32]


def current_fingerprint(report: Path) -> str | None:
    """The fingerprint written into an existing report.html (read from its head only)."""
    try:
        with open(report, encoding="utf-8") as f:
            head = f.read(4096)
    except OSError:
        return None
    found = FINGERPRINT.search(head)
    return found.group(1) if found else None


def build(run_dir: Path, *, embed: bool = True, embed_limit_mb: float | None = None, force: bool = False,
          progress: bool = False) -> tuple[Path, bool]:
    """Write run_dir/report.html (and charts/) from results.sqlite; (path, whether it was rebuilt)."""
    import reports
    from bench import record
    from bench.errors import UserError
    from bench.store import Store, results_frame
    from reports.embed import DEFAULT_LIMIT_MB, EmbedMode

    if embed_limit_mb is not None and embed_limit_mb <= 0:
        raise UserError(f"--embed-limit must be a positive number of MB, got {embed_limit_mb:g}")
    limit = DEFAULT_LIMIT_MB if embed_limit_mb is None else embed_limit_mb
    mode = EmbedMode(embed, int(limit * 2**20))
    out = Path(run_dir) / "report.html"
    store = Store.open(run_dir, create=False)
    try:
        fingerprint = store_fingerprint(store, f"embed={embed},limit={limit}")
        if not force and current_fingerprint(out) == fingerprint:
            return out, False
        frame, meta = results_frame(store), store.meta()
    finally:
        store.close()
    say = (lambda message: print(f"report: {message}", file=sys.stderr, flush=True)) if progress else None
    try:
        return reports.build_report(frame, meta, Path(run_dir), record=record.for_reports(), mode=mode,
                                    progress=say, fingerprint=fingerprint), True
    except reports.ReportError as exc:
        raise UserError(f"{run_dir}: cannot build a report: {exc}") from None


def run(args: argparse.Namespace) -> int:
    path, rebuilt = build(Path(args.run_dir), embed=not args.no_embed, embed_limit_mb=args.embed_limit,
                          force=args.force, progress=not args.quiet)
    print(f"report: {path}" if rebuilt else f"report is up to date: {path}")
    return 0
