"""Hostile benchmark files and output paths (issue 16): each is refused in one line, exit 2, no traceback,
nothing created or changed on disk. The CLI runs in-process (bench.cli.main)."""

from __future__ import annotations

import os
import time

import pytest
from hostile_helpers import TINY, assert_refused, cli, snapshot, write

from bench import plan

# (name, file content, words the one-line error must contain)
BAD_FILES = [
    ("latin1", TINY.encode() + b"negative_prompt: caf\xe9\n", ["bench.yaml:9", "UTF-8"]),
    ("binary", b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)), ["bench.yaml:1", "binary"]),
    (
        "alias-bomb",
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(
                f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
                for p, c in zip("abcdefgh", "bcdefghi")
            )
            + "prompts: *i\n"
        ).encode(),
        ["alias", "bench.yaml:"],
    ),
    ("deep-lists", ("prompts: " + "[" * 20000 + "]" * 20000 + "\n").encode(), ["nested", "bench.yaml:1"]),
    (
        "deep-mappings",
        ("".join(f"{'  ' * i}k{i}:\n" for i in range(200)) + "  " * 200 + "v: 1\n").encode(),
        ["nested", "bench.yaml:"],
    ),
    ("nan-cfg", (TINY + "cfg_scale: .nan\n").encode(), ["cfg_scale", "finite", "bench.yaml:9"]),
    ("inf-cfg", (TINY + "cfg_scale: [7, .inf]\n").encode(), ["cfg_scale[1]", "finite"]),
    ("minus-inf-cfg", (TINY + "cfg_scale: -.inf\n").encode(), ["cfg_scale", "finite"]),
    ("huge-int-cfg", (TINY + f"cfg_scale: {10**400}\n").encode(), ["cfg_scale", "finite"]),
    (
        "nan-std",
        TINY.replace("model: analytic", "model: {kind: analytic, std: .nan}").encode(),
        ["model.std", "finite"],
    ),
    ("bad-syntax", (TINY + "steps: [1, 2\n").encode(), ["invalid YAML"]),
    ("a-list", b"- just\n- a list\n", ["mapping"]),
    ("empty", b"", ["mapping"]),
    ("unknown-key", (TINY + "stepz: 3\n").encode(), ["stepz", "Did you mean"]),
    ("duplicate-key", (TINY + "seeds: [3]\n").encode(), ["duplicate key", "seeds"]),
    ("python-tag-list", (TINY + "clip: !!python/object/apply:os.system [echo hi]\n").encode(), ["bench.yaml:9"]),
    ("python-tag-scalar", (TINY + "negative_prompt: !!python/name:os.system\n").encode(), ["invalid YAML"]),
    ("negative-seed", TINY.replace("[1, 2]", "[1, -2]").encode(), ["seeds[1]"]),
]


@pytest.mark.parametrize("name, data, words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_hostile_benchmark_file_is_one_line(tmp_path, capsys, name, data, words):
    config = write(tmp_path / "bench.yaml", data)
    before = snapshot(tmp_path)
    started = time.perf_counter()
    result = cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress", "--no-report")
    assert_refused(result, *words)
    assert time.perf_counter() - started < 20  # bounded: no expansion, no recursion
    assert snapshot(tmp_path) == before


def test_a_file_above_the_size_bound_is_refused_unread(tmp_path, capsys):
    config = write(tmp_path / "bench.yaml", TINY + "#" * (1 << 20) + "\n")
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "run", config, "-o", tmp_path / "run"), "MiB", "bench.yaml")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["missing.yaml", "."])
def test_a_missing_or_folder_config_is_one_line(tmp_path, capsys, target):
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "run", tmp_path / target, "-o", tmp_path / "run"), "cannot read")
    assert snapshot(tmp_path) == before


def test_a_huge_matrix_is_refused_before_anything_is_allocated(tmp_path, capsys):
    seeds = list(range(400))
    config = write(
        tmp_path / "bench.yaml", TINY.replace("[1, 2]", str(seeds)).replace("[2, 3]", str(list(range(1, 301))))
    )
    before = snapshot(tmp_path)
    started = time.perf_counter()
    line = assert_refused(cli(capsys, "run", config, "-o", tmp_path / "run"), "120,000 cells", "--yes")
    assert "400 seeds" in line and time.perf_counter() - started < 5
    assert snapshot(tmp_path) == before
    dry = cli(capsys, "run", config, "-o", tmp_path / "run", "--dry-run")  # says so, runs nothing
    assert dry.code == 0 and "120,000 cells" in dry.out and "--yes" in dry.out
    assert snapshot(tmp_path) == before


def test_dry_run_counts_done_cells_and_estimates_from_the_store(tiny_run, tmp_path, capsys):
    config, run = tiny_run
    more = write(tmp_path / "more.yaml", config.read_text().replace("[2, 3]", "[2, 3, 4]"))
    before = snapshot(run)
    result = cli(capsys, "run", more, "-o", run, "--dry-run")
    assert result.code == 0 and "Traceback" not in result.err
    assert "6 cells" in result.out and "already done: 4; to run: 2" in result.out
    assert "estimated time: about" in result.out and "from 4 timed cells" in result.out
    assert snapshot(run) == before  # read only: not even SQLite side files
    fresh = cli(capsys, "run", more, "-o", tmp_path / "new", "--dry-run")
    assert "already done: 0; to run: 6" in fresh.out and "unknown" in fresh.out
    assert not (tmp_path / "new").exists()


def test_the_cell_count_is_the_product_of_the_axes(tmp_path):
    from bench.config import load_config
    from bench.matrix import expand

    config = load_config(write(tmp_path / "b.yaml", TINY + "cfg_scale: [1, 5, 7]\n"))
    assert plan.cell_count(config) == len(expand(config)) == 2 * 2 * 3


# --- outputs -----------------------------------------------------------------------------------------
def test_run_into_a_file_or_below_a_file_is_one_line(tmp_path, capsys):
    config = write(tmp_path / "bench.yaml", TINY)
    blocker = write(tmp_path / "taken", "not a folder")
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "run", config, "-o", blocker), "is a file")
    assert_refused(cli(capsys, "run", config, "-o", blocker / "run"), "is a file")
    assert snapshot(tmp_path) == before


def test_run_into_an_unwritable_folder_is_one_line(tmp_path, capsys, monkeypatch):
    config = write(tmp_path / "bench.yaml", TINY)
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real(p, mode))
    before = snapshot(tmp_path)
    assert_refused(cli(capsys, "run", config, "-o", locked / "run"), "not writable", "locked")
    assert snapshot(tmp_path) == before


def test_baseline_into_a_folder_leaves_no_temp_file(tiny_run, tmp_path, capsys):
    _, run = tiny_run
    folder = tmp_path / "out"
    folder.mkdir()
    before, run_before = snapshot(tmp_path), snapshot(run)
    assert_refused(cli(capsys, "baseline", run, "-o", folder), "is a folder")
    assert_refused(cli(capsys, "baseline", run, "-o", write(tmp_path / "f", "x") / "b.json"), "is a file")
    assert snapshot(tmp_path) == {**before, "f": snapshot(tmp_path)["f"]} and snapshot(run) == run_before


def test_baseline_write_failure_names_the_folder_and_leaves_nothing(tiny_run, tmp_path, capsys, monkeypatch):
    import errno
    from pathlib import Path

    _, run = tiny_run

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_text", full)
    assert_refused(cli(capsys, "baseline", run, "-o", tmp_path / "b.json"), "disk full", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["report", "schema", "check", "junit", "markdown"])
def test_outputs_into_a_file_or_folder_are_one_line(tiny_run, tmp_path, capsys, command):
    _, run = tiny_run
    blocker = write(tmp_path / "taken", "x")
    folder = tmp_path / "folder"
    folder.mkdir()
    before, run_before = snapshot(tmp_path), snapshot(run)
    argv = {
        "report": ["report", run, "-o", blocker],
        "schema": ["schema", "-o", folder],
        "check": ["check", run, "--baseline", blocker],
    }.get(command)
    if argv is None:  # a good check whose extra output goes into a folder: the table, then one error line
        assert cli(capsys, "baseline", run, "-o", tmp_path / "b.json").code == 0
        before = snapshot(tmp_path)
        result = cli(capsys, "check", run, "--baseline", tmp_path / "b.json", f"--{command}", folder)
        assert result.code == 2 and "Traceback" not in result.err and len(result.lines) == 1
        assert "is a folder" in result.lines[0] and snapshot(tmp_path) == before
        return
    assert_refused(cli(capsys, *argv))
    assert snapshot(tmp_path) == before and snapshot(run) == run_before
