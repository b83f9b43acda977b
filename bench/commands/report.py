"""`bench report RUN_DIR`: report.html (charts and thumbnails embedded) from the store alone (no model, no GPU).

The store is only read, so a read-only run folder (a CI artifact) can be reported into another folder with
`-o`; a missing or broken PNG becomes a placeholder and a warning, never a failed report. An unchanged
store is not reported twice: the store's fingerprint (every cell row, the metadata and the report options)
is kept in the page, and a rebuild with the same fingerprint only says "report is up to date", so resuming
a finished run costs almost nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
from pathlib import Path

FINGERPRINT = re.compile(r'<meta name="samplerbench-fingerprint" content="([0-9a-f]*)">')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", help="a run directory written by `bench run`")
    parser.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        help="write report.html and charts/ here instead of RUN_DIR (which is only read)",
    )
    parser.add_argument(
        "--no-embed",
        action="store_true",
        help="link images and charts instead of embedding them (the page then needs its run folder)",
    )
    parser.add_argument(
        "--embed-limit",
        type=float,
        default=None,
        metavar="MB",
        help="above this many MB of embedded images, link them instead (default: 64)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when the store has not changed")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def report_code_digest() -> str:
    """A hash of the report's own code and templates: a page built by other report code is rebuilt even when
    the version number did not change (a development install, a patched copy)."""
    import reports

    digest = hashlib.sha256()
    root = Path(reports.__file__).parent
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".py", ".j2", ".js", ".css")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def store_fingerprint(store, options: str) -> str:
    """A hash of every cell row, the run's metadata, the report options, the samplerbench version and the
    report code."""
    from bench import record
    from bench.cli import _version

    digest = hashlib.sha256(f"{_version()}|{report_code_digest()}|{options}|".encode())
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
    except (OSError, UnicodeDecodeError):
        return None
    found = FINGERPRINT.search(head)
    return found.group(1) if found else None


def _relink(frame, run_dir: Path, out_dir: Path):
    """Image paths relative to `out_dir`, so the page embeds and links the run's own PNGs."""
    if out_dir.resolve() == run_dir.resolve() or "image" not in frame:
        return frame
    frame = frame.copy()
    frame["image"] = frame["image"].map(
        lambda rel: rel if not isinstance(rel, str) else os.path.relpath(run_dir / rel, out_dir)
    )
    return frame


def broken_image_count(frame, run_dir: Path) -> int:
    from bench.pngcheck import png_intact

    ok = (
        frame[(frame["status"] == "ok") & frame["image"].map(lambda v: isinstance(v, str))]
        if "image" in frame
        else frame.iloc[:0]
    )
    return sum(not png_intact(run_dir / rel) for rel in ok["image"])


def build(
    run_dir: Path,
    out_dir: Path | None = None,
    *,
    embed: bool = True,
    embed_limit_mb: float | None = None,
    force: bool = False,
    progress: bool = False,
) -> tuple[Path, bool]:
    """Write report.html (and charts/) into `out_dir` (default RUN_DIR) from results.sqlite;
    (path, whether it was rebuilt)."""
    import reports
    from bench import record
    from bench.errors import UserError
    from bench.safe_write import check_writable_folder, os_error_message
    from bench.store import Store, results_frame
    from reports.embed import DEFAULT_LIMIT_MB, EmbedMode

    if embed_limit_mb is not None and embed_limit_mb <= 0:
        raise UserError(f"--embed-limit must be a positive number of MB, got {embed_limit_mb:g}")
    run_dir = Path(run_dir)
    out_dir = Path(out_dir) if out_dir is not None else run_dir
    limit = DEFAULT_LIMIT_MB if embed_limit_mb is None else embed_limit_mb
    mode = EmbedMode(embed, int(limit * 2**20))
    out = out_dir / "report.html"
    store = Store.open(run_dir, readonly=True)
    try:
        fingerprint = store_fingerprint(store, f"embed={embed},limit={limit}")
        if not force and current_fingerprint(out) == fingerprint:
            return out, False
        frame, meta = results_frame(store), store.meta()
    finally:
        store.close()
    check_writable_folder(out_dir, "the report")
    broken = broken_image_count(frame, run_dir)
    if broken:
        print(
            f"warning: {broken} image(s) of finished cells are missing or broken; the report shows "
            "placeholders (`bench run` reruns those cells)",
            file=sys.stderr,
        )
    say = (lambda message: print(f"report: {message}", file=sys.stderr, flush=True)) if progress else None
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        return reports.build_report(
            _relink(frame, run_dir, out_dir),
            meta,
            out_dir,
            record=record.for_reports(),
            mode=mode,
            progress=say,
            fingerprint=fingerprint,
        ), True
    except reports.ReportError as exc:
        raise UserError(f"{run_dir}: cannot build a report: {exc}") from None
    except OSError as exc:
        raise UserError(os_error_message(exc, "the report", out)) from None


def run(args: argparse.Namespace) -> int:
    path, rebuilt = build(
        Path(args.run_dir),
        Path(args.output) if args.output else None,
        embed=not args.no_embed,
        embed_limit_mb=args.embed_limit,
        force=args.force,
        progress=not args.quiet,
    )
    print(f"report: {path}" if rebuilt else f"report is up to date: {path}")
    return 0
