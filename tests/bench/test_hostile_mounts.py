"""Real read-only folders and a real full disk (issue 16), on mounts made for the test: a read-only bind
mount and a tiny tmpfs. Needs root and mount(8); skipped elsewhere (the in-process suites simulate both)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hostile_helpers import TINY, assert_refused, cli, copy_run, snapshot, write

import bench

pytestmark = pytest.mark.slow


def _mount(*args: str) -> bool:
    return (
        shutil.which("mount") is not None
        and subprocess.run(["mount", *args], capture_output=True, check=False).returncode == 0
    )


@pytest.fixture()
def mounted():
    points: list[Path] = []
    yield points
    for point in reversed(points):
        busy = subprocess.run(["umount", str(point)], capture_output=True, check=False).returncode
        if busy:  # a file still open there would be a leak: detach it anyway, then fail
            subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)
        assert busy == 0, f"{point} was busy: a file was left open"


@pytest.fixture()
def read_only_run(tiny_run, tmp_path, mounted) -> Path:
    run = copy_run(tiny_run[1], tmp_path / "run")
    view = tmp_path / "ro"
    view.mkdir()
    if not (
        _mount("--bind", str(run), str(view))
        and (mounted.append(view) or True)
        and _mount("-o", "remount,ro,bind", str(view))
    ):
        pytest.skip("needs root and bind mounts")
    return view


def test_readers_work_on_a_read_only_run_folder(read_only_run, tmp_path, capsys):
    before = snapshot(read_only_run)
    assert len(bench.load_results(read_only_run)) == 4
    assert cli(capsys, "baseline", read_only_run, "-o", tmp_path / "b.json").code == 0
    assert cli(capsys, "check", read_only_run, "--baseline", tmp_path / "b.json").code == 0
    assert cli(capsys, "report", read_only_run, "-o", tmp_path / "rep").code == 0
    assert (tmp_path / "rep" / "report.html").is_file() and snapshot(read_only_run) == before


def test_writers_refuse_a_read_only_run_folder_in_one_line(read_only_run, tiny_run, capsys):
    assert_refused(cli(capsys, "report", read_only_run), "not writable")
    assert_refused(cli(capsys, "run", tiny_run[0], "-o", read_only_run, "--no-progress"), "not writable")


def test_a_real_full_disk_is_one_line_and_the_store_stays_consistent(tmp_path, capsys, mounted):
    from bench.pngcheck import png_intact

    disk = tmp_path / "disk"
    disk.mkdir()
    if not _mount("-t", "tmpfs", "-o", "size=160k", "tmpfs", str(disk)):
        pytest.skip("needs root and tmpfs")
    mounted.append(disk)
    config = write(
        tmp_path / "b.yaml",
        TINY.replace("[8, 8]", "[96, 96]").replace("[1, 2]", str(list(range(40)))) + "metrics: []\n",
    )
    line = assert_refused(
        cli(capsys, "run", config, "-o", disk / "run", "--no-progress", "--no-report"), "disk full in", "needs about"
    )
    assert str(disk) in line
    moved = copy_run(disk / "run", tmp_path / "moved")  # the store is consistent: it resumes elsewhere
    done = bench.load_results(moved)
    assert all(png_intact(moved / "images" / f"{c}.png") for c in done[done.status == "ok"].cell_id)
    result = cli(capsys, "run", config, "-o", moved, "--no-progress", "--no-report")
    assert result.code == 0 and f"{len(done[done.status == 'ok'])} already done" in result.out
