"""Faults (issue 16): a full disk, two runs on one folder, Ctrl-C, a closed pipe; plus CSV escaping and
what the terminal says. Each ends in one line and a defined exit status, never a traceback, and leaves
the store consistent."""

from __future__ import annotations

import errno
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from hostile_helpers import TINY, assert_refused, cli, copy_run, run_python, snapshot, write

import bench
from bench.lock import run_lock
from bench.pngcheck import png_intact

ROOT = Path(__file__).resolve().parents[2]


def _full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _consistent(run: Path) -> set[str]:
    """Every finished row has a whole PNG and no temp file is left; returns the finished ids."""
    frame = bench.load_results(run)
    ok = set(frame[frame.status == "ok"].cell_id)
    assert all(png_intact(run / "images" / f"{cid}.png") for cid in ok)
    assert not list(run.rglob("*.tmp"))
    return ok


def test_disk_full_writing_a_png_is_one_line_and_the_run_resumes(tmp_path, capsys, monkeypatch):
    import bench.cell_writer
    from bench.pnginfo import write_png

    config = write(tmp_path / "b.yaml", TINY)
    calls = []

    def fills_up(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            _full()
        write_png(*args, **kwargs)

    monkeypatch.setattr(bench.cell_writer, "write_png", fills_up)
    line = assert_refused(
        cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress"),
        "disk full in",
        str(tmp_path / "run"),
        "needs about",
    )
    assert "run again to resume" in line
    assert len(_consistent(tmp_path / "run")) == 2
    monkeypatch.undo()
    result = cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress", "--no-report")
    assert result.code == 0 and "2 already done, 2 run" in result.out


def test_disk_full_writing_a_row_is_one_line_and_the_store_stays_consistent(tmp_path, capsys, monkeypatch):
    from bench.store import Store

    config = write(tmp_path / "b.yaml", TINY)
    real = Store.write_cells
    batches = []

    def fills_up(self, rows):
        batches.append(1)
        if len(batches) > 1:
            raise sqlite3.OperationalError("database or disk is full")
        real(self, rows)

    monkeypatch.setattr(Store, "write_cells", fills_up)
    assert_refused(cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress"), "disk full in")
    assert len(_consistent(tmp_path / "run")) == 2  # the first batch, committed in one transaction


def test_disk_full_during_export_keeps_the_previous_exports(tiny_run, tmp_path, capsys, monkeypatch):
    config, good = tiny_run
    run = copy_run(good, tmp_path / "run")
    csv_before = (run / "results.csv").read_bytes()
    more = write(tmp_path / "more.yaml", config.read_text().replace("[2, 3]", "[2, 3, 4]"))
    monkeypatch.setattr(pd.DataFrame, "to_csv", _full)
    assert_refused(cli(capsys, "run", more, "-o", run, "--no-progress", "--no-report"), "disk full in")
    assert (run / "results.csv").read_bytes() == csv_before  # not a 0-byte file
    assert len(_consistent(run)) == 6


def test_a_second_run_on_a_busy_folder_is_refused_in_one_line(tiny_run, tmp_path, capsys):
    config, good = tiny_run
    run = copy_run(good, tmp_path / "run")
    from bench.store import Store

    with run_lock(run):
        writer = Store.open(run)  # as the busy run has it open
        before = snapshot(tmp_path)
        assert_refused(cli(capsys, "run", config, "-o", run, "--no-progress"), "in use by another", "--wait")
        assert snapshot(tmp_path) == before
        writer.close()


def test_wait_queues_behind_the_busy_run(tiny_run, tmp_path, capsys):
    config, good = tiny_run
    run = copy_run(good, tmp_path / "run")
    held, release = threading.Event(), threading.Event()

    def holder():
        with run_lock(run):
            held.set()
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    threading.Timer(0.5, release.set).start()
    started = time.perf_counter()
    result = cli(capsys, "run", config, "-o", run, "--no-progress", "--no-report", "--wait")
    thread.join()
    assert result.code == 0 and time.perf_counter() - started >= 0.4


def test_a_refused_run_leaves_no_new_folder(tmp_path):
    from bench.errors import UserError

    with pytest.raises(UserError), run_lock(tmp_path / "new"):
        raise UserError("refused")
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
def test_the_lock_holds_across_processes_and_names_the_holder(tiny_run, tmp_path, capsys):
    config, good = tiny_run
    run = copy_run(good, tmp_path / "run")
    script = (
        "import time\nfrom bench.lock import run_lock\n"
        f"with run_lock({str(run)!r}):\n    print('held', flush=True)\n    time.sleep(30)"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert_refused(cli(capsys, "run", config, "-o", run, "--no-progress"), f"pid {holder.pid}")
    finally:
        holder.kill()
        holder.wait()
    assert cli(capsys, "run", config, "-o", run, "--no-progress", "--no-report").code == 0  # kill -9 frees it


def test_ctrl_c_while_the_parser_is_built_is_one_line(capsys, monkeypatch):
    import bench.cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(bench.cli, "build_parser", interrupted)
    assert_refused(cli(capsys, "samplers"), "interrupted", code=130)


def test_ctrl_c_during_a_run_is_one_line_and_resumable(tmp_path, capsys, monkeypatch):
    import bench.runner

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench.runner, "run_model", interrupted)
    config = write(tmp_path / "b.yaml", TINY)
    assert_refused(cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress"), "run again to resume", code=130)


def _cli_process(*argv: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.cli", *argv],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.02, 0.06, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.5, 3.0])
def test_ctrl_c_at_any_moment_is_one_line_and_exit_130(tmp_path, delay):
    """Any moment once samplerbench code runs; the interpreter's own start-up (`site`, its .pth files:
    about 0.1 s here, before bench/cli.py is read) is Python's and may still print its traceback."""
    config = write(tmp_path / "b.yaml", TINY)
    process = _cli_process("run", str(config), "-o", str(tmp_path / "run"), "--no-report", stdout=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip()]
    if process.returncode == -signal.SIGINT and len(lines) == 1 and "interrupted" in lines[0]:
        return  # our line, then CPython re-raised SIGINT at exit (a shell sees 130 either way)
    if "Traceback" in err or process.returncode == -signal.SIGINT:
        ours = [line for line in err.splitlines() if line.strip().startswith("File") and str(ROOT) in line]
        assert not ours and ("site" in err or not err), (process.returncode, err)  # the interpreter's start-up
        return
    assert process.returncode in (130, 0), (process.returncode, err)  # 0: it had finished already
    if process.returncode == 130:
        assert [line for line in err.splitlines() if "interrupted" in line]


def test_ctrl_c_during_the_interpreters_teardown_ends_it_with_the_commands_status():
    """The CI failure of 2026-11-30: Ctrl-C as a finished run's interpreter shut down (threading's
    `_shutdown`) printed a KeyboardInterrupt traceback. A thread still running at exit holds the teardown
    open here and sends the signal then, so the moment is hit every time."""
    code = (
        "import os, signal, sys, threading, time\n"
        "import bench.cli\n"
        "def finished(argv=None):\n"
        "    def late():\n"
        "        time.sleep(0.3)\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "        time.sleep(0.3)\n"
        "    threading.Thread(target=late).start()\n"
        "    print('done')\n"
        "    return 0\n"
        "bench.cli.main = finished\n"
        "bench.cli.entry()\n"
    )
    result = run_python(code, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (0, "done\n", "")


@pytest.mark.slow
def test_a_closed_pipe_exits_141_without_a_traceback():
    process = _cli_process("samplers", stdout=subprocess.PIPE)
    assert process.stdout.readline()
    process.stdout.close()  # `bench samplers | head -1`
    _, err = process.communicate(timeout=60)
    assert process.returncode == 141 and "Traceback" not in err and "BrokenPipe" not in err, err


# --- CSV and the terminal ----------------------------------------------------------------------------
def test_csv_cells_are_escaped_against_formulas_parquet_keeps_raw_values(tmp_path, capsys):
    prompts = ['=HYPERLINK("http://x")', "+1+2", "-2+3", "@SUM(A1)", "\tTab", "a red circle"]
    config = write(
        tmp_path / "b.yaml",
        TINY.replace("[a red circle]", json.dumps(prompts)).replace("[2, 3]", "[2]").replace("[1, 2]", "[1]")
        + "metrics: []\n",
    )  # timing only: fast
    assert cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress", "--no-report").code == 0
    csv = pd.read_csv(tmp_path / "run" / "results.csv")
    assert sorted(csv.prompt) == sorted("'" + p if p[0] in "=+-@\t" else p for p in prompts)
    assert sorted(pd.read_parquet(tmp_path / "run" / "results.parquet").prompt) == sorted(prompts)
    assert sorted(bench.load_results(tmp_path / "run").prompt) == sorted(prompts)


def test_failed_cells_are_printed_grouped_at_the_end(tmp_path, capsys):
    from spine_helpers import register_test_family

    register_test_family()
    config = write(tmp_path / "b.yaml", TINY.replace("[Euler]", "[Euler, test raises]"))
    result = cli(capsys, "run", config, "-o", tmp_path / "run", "--no-progress", "--no-report")
    assert result.code == 1 and "Traceback" not in result.err
    assert "4 cell(s) failed:" in result.err
    grouped = [line for line in result.err.splitlines() if line.startswith("  4 x ")]
    assert len(grouped) == 1 and "deliberate failure" in grouped[0] and "[test raises]" in grouped[0]


def test_settings_that_do_nothing_and_resume_changes_are_warned(tiny_run, tmp_path, capsys):
    config, good = tiny_run
    run = copy_run(good, tmp_path / "run")
    changed = (
        config.read_text()
        .replace("[2, 3]", "[2]")
        .replace("batch_size: 2", "batch_size: 1")
        .replace("[a red circle]", "[a red circle, zebra]")
        + "clip_skip: [1, 2]\nrepeats: 2\nmetrics: []\n"
    )
    result = cli(capsys, "run", write(tmp_path / "c.yaml", changed), "-o", run, "--no-progress", "--no-report")
    warnings = [line for line in result.err.splitlines() if line.startswith("warning: ")]
    text = "\n".join(warnings)
    assert result.code == 0
    for expected in (
        "clip_skip does nothing",
        "'zebra'",
        "repeats changed",
        "batch_size changed",
        "2 stored cell(s) are not in this benchmark file",
    ):
        assert expected in text, (expected, text)


def test_temp_names_are_unique_per_process_and_call(tmp_path):
    from bench.safe_write import temp_name

    names = {temp_name(tmp_path / "x.png").name for _ in range(100)}
    assert len(names) == 100 and all(f".{os.getpid()}." in n and n.startswith(".x.png.") for n in names)


@pytest.mark.slow
def test_the_analytic_default_does_not_import_diffusers_transformers_or_open_clip(tmp_path):
    config = write(tmp_path / "b.yaml", TINY)
    code = (
        "import sys\nfrom bench.cli import main\n"
        f"assert main(['run', {str(config)!r}, '-o', {str(tmp_path / 'run')!r}, '--no-progress']) == 0\n"
        "print(sorted(m for m in ('diffusers', 'transformers', 'open_clip') if m in sys.modules))"
    )
    out = run_python(code, quiet=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
