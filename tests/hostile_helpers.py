"""Shared by the hostile-input suites (tests/test_hostile_*.py): run the CLI in-process and check that a
refusal is one line, the right exit status, no traceback, and that nothing on disk changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.cli import main

TINY = """\
name: tiny
model: analytic
prompts: [a red circle]
seeds: [1, 2]
samplers: [Euler]
steps: [2, 3]
size: [8, 8]
batch_size: 2
"""


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def cli(capsys, *argv: str) -> Result:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def assert_refused(result: Result, *words: str, code: int = 2) -> str:
    """Exit `code`, exactly one line on stderr containing every word, and no traceback anywhere."""
    assert "Traceback" not in result.out + result.err, result.err
    assert result.code == code, (result.code, result.err)
    assert len(result.lines) == 1, result.err
    for word in words:
        assert word in result.lines[0], (word, result.lines[0])
    return result.lines[0]


def snapshot(root: Path) -> dict[str, str]:
    """Every file and folder under `root`: content hash of files, a marker for folders."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        out[rel] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def copy_run(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, timeout: int = 300, quiet: bool = True) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter on this checkout (import state, exit paths): its result, never raising."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **({"PYTHONWARNINGS": "ignore"} if quiet else {})}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
