"""`bench report` (embedding, up-to-date fingerprint), `bench grid` and `bench compare` on real stores."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from reports_fixture import PROMPTS, RECORD, make_fake_run

from bench.commands.report import current_fingerprint, store_fingerprint
from bench.store import Store
from reports.compare import compare_runs, markdown
from reports.metrics import METRICS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "perf"))
from report import synthetic_run  # noqa: E402  (perf/ is not a package)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bench.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("store")
    synthetic_run(run_dir, 2)
    return run_dir


def test_fingerprint_follows_cells_and_meta(store_dir, tmp_path):
    store = Store.open(store_dir, create=False)
    try:
        first = store_fingerprint(store, "embed=True")
        assert store_fingerprint(store, "embed=True") == first
        assert store_fingerprint(store, "embed=False") != first  # options are part of it
        row = next(iter(store.rows()))
        store.write_cell({**row, "sample_s": row["sample_s"] * 2})  # a rerun cell replaced in place
        second = store_fingerprint(store, "embed=True")
        assert second != first
        store.set_meta("notes", ["changed"])
        assert store_fingerprint(store, "embed=True") != second
    finally:
        store.close()
    (tmp_path / "report.html").write_text('<!DOCTYPE html><meta name="samplerbench-fingerprint" content="abc12">')
    assert current_fingerprint(tmp_path / "report.html") == "abc12"
    assert current_fingerprint(tmp_path / "none.html") is None


@pytest.mark.slow
def test_report_is_built_once_then_up_to_date(store_dir):
    first = _cli("report", str(store_dir))
    assert first.returncode == 0 and "report: summarised" in first.stderr  # progress on stderr
    page = store_dir / "report.html"
    stamp = page.stat().st_mtime_ns
    again = _cli("report", str(store_dir))
    assert again.returncode == 0 and again.stdout.startswith("report is up to date")
    assert page.stat().st_mtime_ns == stamp
    linked = _cli("report", str(store_dir), "--no-embed", "--quiet")
    assert linked.returncode == 0 and linked.stderr == "" and "Linked mode" in page.read_text("utf-8")
    bad = _cli("report", str(store_dir), "--embed-limit", "-3")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "embed-limit" in bad.stderr


@pytest.mark.slow
def test_grid_is_one_full_resolution_png_or_a_polite_refusal(store_dir, tmp_path):
    out = tmp_path / "grid.png"
    done = _cli(
        "grid",
        str(store_dir),
        "--rows",
        "sampler",
        "--cols",
        "steps",
        "--where",
        "prompt=a blue square",
        "--where",
        "seed=2",
        "--tile",
        "40",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    with Image.open(out) as img:
        assert "rows: sampler" in img.info["parameters"] and "columns: steps" in img.info["parameters"]
        assert img.width >= 200 + 5 * 40 and img.height >= 2 * 40
    refused = _cli("grid", str(store_dir), "--rows", "prompt", "--cols", "steps", "--tile", "3000", "-o", str(out))
    lines = refused.stderr.strip().splitlines()
    assert refused.returncode == 2 and len(lines) == 1 and "over the limit of 200 MP" in lines[0]
    unknown = _cli("grid", str(store_dir), "--rows", "colour")
    assert unknown.returncode == 2 and "the run's axes: model, prompt" in unknown.stderr


def test_compare_matches_cells_and_says_what_changed(tmp_path):
    a, _ = make_fake_run(tmp_path / "a", prompts=PROMPTS[:2], fail=False)
    b, _ = make_fake_run(tmp_path / "b", prompts=PROMPTS[:2], fail=False)
    slow = b["sampler"] == "DDIM"
    b.loc[slow, "sample_s"] *= 2  # B is slower on DDIM, beyond noise
    b.loc[slow, "sample_s_repeats"] = b.loc[slow, "sample_s_repeats"].map(lambda r: [2 * t for t in r])
    b["cell_id"] = b["cell_id"] + "x"  # a changed option: new ids, same labels
    html, md = compare_runs(
        a,
        b,
        ("<b>A</b>", "B | fp16"),
        (tmp_path / "a", tmp_path / "b"),
        tmp_path / "out",
        RECORD,
        ["sampler", "steps", "seed", "prompt"],
    )
    text = md.read_text("utf-8")
    assert f"{len(a)} cells matched by sampler, steps, seed, prompt; only in A: 0, only in B: 0" in text
    ddim = next(line for line in text.splitlines() if line.startswith("| DDIM · 10 steps"))
    assert "B slower (2.00x" in ddim and "ODE error" not in ddim and ": tie" in ddim
    euler = next(line for line in text.splitlines() if line.startswith("| Euler a · 10 steps"))
    assert "tie (1.00x" in euler
    assert "B \\| fp16" in text and "&lt;b&gt;A&lt;/b&gt;" in text  # markdown and HTML escaped
    page = html.read_text("utf-8")
    assert "<b>A</b>" not in page and page.count("data:image/png;base64,") == len(a)
    assert "By category" not in text and 'id="by-category"' not in page  # a plain list of prompts
    by_id, only_a, only_b = (
        compare_runs(a, b, ("a", "b"), (tmp_path / "a", tmp_path / "b"), tmp_path / "ids", RECORD)[1].read_text(
            "utf-8"
        ),
        len(a),
        len(b),
    )
    assert f"0 cells matched by cell id; only in A: {only_a}, only in B: {only_b}" in by_id
    assert (
        markdown(
            {
                "names": ("x", "y"),
                "matched": 0,
                "match": "cell id",
                "only_a": 0,
                "only_b": 0,
                "overall": "",
                "metrics": [],
                "rows": [],
                "time_test": "t",
                "quality_test": "q",
            }
        ).count("|")
        > 4
    )


COMPARE_LABELS = {PROMPTS[0]: "Animals", PROMPTS[1]: "Text rendering", PROMPTS[2]: None}


def _by_category(md: Path) -> tuple[list[str], dict[str, list[str]]]:
    """The markdown's By category table: its header cells and its rows' cells by category."""
    section = md.read_text("utf-8").split("#### By category (every matched configuration)\n\n")[1].split("\n\n")[0]
    lines = [line.strip("| ").split(" | ") for line in section.splitlines()]
    return lines[0], {cells[0]: cells for cells in lines[2:]}


def test_compare_by_category_gives_each_metrics_means_and_verdict(tmp_path):
    a, _ = make_fake_run(tmp_path / "a")  # one failed cell in A: its pair is left out of the means
    b, _ = make_fake_run(tmp_path / "b", fail=False)
    for frame in (a, b):
        frame["prompt_category"] = frame["prompt"].map(COMPARE_LABELS)
        frame["prompt_challenge"] = None  # no challenge labels: no table for them
        frame["fid"] = 3.0  # a set metric: no per-category value
    text_cells = b["prompt"] == PROMPTS[1]
    b.loc[text_cells, "ode_error"] *= 3  # B hurts the text-rendering prompts only
    dirs = (tmp_path / "a", tmp_path / "b")
    html, md = compare_runs(a, b, ("a", "b"), dirs, tmp_path / "out", RECORD)
    header, rows = _by_category(md)
    assert header == ["category", "n", "ODE error", "alignment", "fidelity"]  # no FID, no time
    assert list(rows) == ["Animals", "Text rendering", "(none)"]
    assert "#### By challenge" not in md.read_text("utf-8")
    b_by_id = b.set_index("cell_id")
    for category, cells in rows.items():
        prompts = [p for p, c in COMPARE_LABELS.items() if (c or "(none)") == category]
        in_a = a[(a["status"] == "ok") & a["prompt"].isin(prompts)]  # every B cell is ok
        in_b = b_by_id.loc[in_a["cell_id"]]
        assert cells[1] == str(len(in_a))
        for name in ("ode_error", "alignment", "fidelity"):
            spec = METRICS[name]
            arrow = f"{spec.format(float(in_a[name].mean()))} → {spec.format(float(in_b[name].mean()))}"
            assert cells[header.index(spec.label)].startswith(f"{arrow}: ")
    assert rows["Text rendering"][2].split(": ")[1].startswith("B worse")
    assert rows["Animals"][2].split(": ")[1].startswith("tie") and rows["(none)"][2].split(": ")[1].startswith("tie")
    assert rows["Text rendering"][3].split(": ")[1].startswith("tie")  # alignment unchanged
    page = html.read_text("utf-8")
    assert 'id="by-category"' in page and "Text rendering" in page
    unlabelled = [f.assign(prompt_category=None) for f in (a, b)]
    _, plain = compare_runs(*unlabelled, ("a", "b"), dirs, tmp_path / "plain", RECORD)
    assert "By category" not in plain.read_text("utf-8")
    # one run from before the suites (no label columns at all): B's labels are used
    _, half = compare_runs(a.drop(columns=["prompt_category"]), b, ("a", "b"), dirs, tmp_path / "half", RECORD)
    assert list(_by_category(half)[1]) == ["Animals", "Text rendering", "(none)"]


@pytest.mark.slow
def test_the_benchmark_objective_reaches_the_report(tmp_path):
    config = tmp_path / "bench.yaml"
    config.write_text(
        'name: objective\nprompts: ["a red circle"]\nseeds: [1, 2]\nsamplers: [Euler, DDIM]\n'
        "steps: [4, 8]\nsize: [8, 8]\n"
        'report: {objective: time, constraints: {ode_error: "<= 10"}}\n',
        encoding="utf-8",
    )
    done = _cli("run", str(config), "-o", str(tmp_path / "run"), "--no-progress")
    assert done.returncode == 0, done.stderr
    store = Store.open(tmp_path / "run", create=False)
    try:
        assert store.get_meta("report") == {"objective": "time", "constraints": {"ode_error": "<= 10"}}
    finally:
        store.close()
    html = (tmp_path / "run" / "report.html").read_text("utf-8")
    assert "from the benchmark file" in html and "constraints: ODE error ≤ 10" in html
    assert "meets ODE error ≤ 10" in html
    again = _cli("report", str(tmp_path / "run"))
    assert again.stdout.startswith("report is up to date")
    bad = tmp_path / "bad.yaml"
    bad.write_text(config.read_text("utf-8").replace("objective: time", "objective: beauty"), encoding="utf-8")
    refused = _cli("run", str(bad), "-o", str(tmp_path / "bad"))
    assert refused.returncode == 2 and "bad.yaml:7: report: unknown objective 'beauty'" in refused.stderr


def test_a_report_from_other_report_code_is_rebuilt(tiny_run, tmp_path, monkeypatch) -> None:
    """The page keeps a digest of the report code: new report code rebuilds it even at the same version."""
    import bench.commands.report as report_command

    _, run = tiny_run
    out = tmp_path / "out"
    assert report_command.build(run, out)[1]
    assert report_command.build(run, out)[1] is False  # same store, same code: up to date
    digest = report_command.report_code_digest()
    assert len(digest) == 16 and digest == report_command.report_code_digest()
    monkeypatch.setattr(report_command, "report_code_digest", lambda: "0" * 16)
    assert report_command.build(run, out)[1]
