"""The grid explorer: its data (reports.explorer) and its behaviour in a real headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import statistics
import sys
from pathlib import Path

import pytest
from reports_browser import CHROMIUM, Browser
from reports_fixture import (
    PROMPTS,
    RECORD,
    SAMPLERS,
    SEEDS,
    STEPS,
    XSS_PROMPT,
    FakeSampler,
    make_fake_run,
    report_axes,
)

import reports
from reports.embed import EmbedMode
from reports.explorer import build_explorer, option_columns, to_script_json
from reports.metrics import METRICS

EVIL_SAMPLER = "<img src=x onerror=alert(2)>"
EVIL_OPTION = "</script><script>alert(3)</script>"
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed")


def _evil_run(run_dir: Path):
    evil = FakeSampler(EVIL_SAMPLER, "k:evil/normal", "k", "normal", False, 0.011, 0.4, 1.0, (200, 200, 20))
    results, meta = make_fake_run(run_dir, samplers=(*SAMPLERS, evil))
    # an option that varies within one sampler is an axis of its own
    results["sampler_options"] = [
        {"eta": EVIL_OPTION if seed == SEEDS[0] else 1.0} if s == "DDIM" else None
        for s, seed in zip(results["sampler"], results["seed"])
    ]
    return results, meta


def test_payload_has_every_cell_and_varied_axis(tmp_path):
    results, _ = make_fake_run(tmp_path)
    payload = build_explorer(
        results, tmp_path, report_axes(), [METRICS["ode_error"]], METRICS["ode_error"], EmbedMode()
    )
    keys = [a["key"] for a in payload["axes"]]
    assert keys == ["prompt", "sampler", "steps", "seed"]  # the record's order; one-valued axes are "fixed"
    assert ("model", "analytic") in [tuple(f) for f in payload["fixed"]]
    assert len(payload["cells"]) == len(results)
    assert len({tuple(c["v"]) for c in payload["cells"]}) == len(results)  # one cell per combination
    failed = [c for c in payload["cells"] if c["s"] != "ok"]
    assert len(failed) == 1 and "src" not in failed[0] and "NaN in latents" in failed[0]["err"]
    assert all(c["src"].startswith("data:image/png;base64,") for c in payload["cells"] if c["s"] == "ok")
    assert not payload["linked"] and payload["embedded_bytes"] > 0


def test_captions_are_per_configuration_medians(tmp_path):
    results, _ = make_fake_run(tmp_path, fail=False)
    results.loc[0, "sample_s"] *= 5  # one slow first batch must not show up as the configuration's time
    payload = build_explorer(results, tmp_path, report_axes(), [], None, EmbedMode())
    first = results.iloc[0]
    same = results[(results["sampler"] == first["sampler"]) & (results["steps"] == first["steps"])]
    captions = {payload["cells"][i]["c"] for i in same.index}
    assert len(captions) == 1
    assert captions.pop().startswith(f"{statistics.median(same['sample_s']):.3g} s (")


def test_linked_mode_above_the_embed_limit(tmp_path):
    results, _ = make_fake_run(tmp_path, prompts=PROMPTS[:1], seeds=SEEDS[:1])
    payload = build_explorer(results, tmp_path, report_axes(), [], None, EmbedMode(True, limit_bytes=100))
    assert payload["linked"] and all(c["src"].startswith("images/") for c in payload["cells"] if "src" in c)
    html = reports.build_report(results, {"name": "x"}, tmp_path, record=RECORD, mode=EmbedMode(embed=False)).read_text(
        "utf-8"
    )
    assert "Linked mode" in html and 'src="charts/' in html


def test_options_become_axes_only_when_they_vary_within_a_sampler(tmp_path):
    results, _ = _evil_run(tmp_path)
    assert list(option_columns(results)) == ["option:eta"]
    results["sampler_options"] = [{"eta": 0} if s == "DDIM" else None for s in results["sampler"]]
    assert list(option_columns(results)) == []  # follows the sampler: not an axis


def test_script_json_cannot_close_its_element():
    text = to_script_json({"a": EVIL_OPTION, "b": "<!-- & -->"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"a": EVIL_OPTION, "b": "<!-- & -->"}


# ---- in a real browser -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def evil_report(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("evil")
    results, meta = _evil_run(run_dir)
    meta["name"] = "<script>alert('name')</script>"
    path = reports.build_report(results, meta, run_dir, record=RECORD)
    alone = tmp_path_factory.mktemp("alone") / "report.html"
    shutil.copy(path, alone)
    return path, alone, results


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with Browser() as b:
        b.viewport(1280, 1600)
        yield b


BROKEN = (
    "Array.from(document.images).filter(i => i.getAttribute('src') !== null)"  # the dialog's <img> waits
    ".filter(i => !(i.complete && i.naturalWidth > 0)).length"
)
ROW_HEADERS = "Array.from(document.querySelectorAll('#ex-grid tbody th')).map(t => t.textContent)"
COL_HEADERS = "Array.from(document.querySelectorAll('#ex-grid thead th:not(.corner)')).map(t => t.textContent)"


def _choose(browser, select: str, axis: str) -> None:
    browser.evaluate(f"""(() => {{ const s = document.getElementById('{select}');
        const i = Array.from(s.options).findIndex(o => o.textContent.startsWith({json.dumps(axis)} + ' ('));
        s.value = s.options[i].value; s.dispatchEvent(new Event('change')); }})()""")


@needs_chromium
def test_alone_in_an_empty_folder_every_image_renders(evil_report, browser):
    _, alone, _ = evil_report
    assert [p.name for p in alone.parent.iterdir()] == ["report.html"]
    browser.load(alone.as_uri())
    assert browser.evaluate("document.images.length") > len(SAMPLERS) * len(STEPS)  # charts and tiles
    assert browser.evaluate(BROKEN) == 0
    assert browser.problems() == []


@needs_chromium
def test_switching_axes_changes_the_grid(evil_report, browser):
    path, _, results = evil_report
    browser.load(path.as_uri())
    names = list(dict.fromkeys(results["sampler"]))
    assert browser.evaluate(ROW_HEADERS) == names
    assert browser.evaluate(COL_HEADERS) == [f"{n} steps" for n in STEPS]
    _choose(browser, "ex-rows", "prompt")
    assert browser.evaluate(ROW_HEADERS) == list(PROMPTS)  # the script payload, as text
    _choose(browser, "ex-cols", "seed")
    assert browser.evaluate(COL_HEADERS) == [f"seed {s}" for s in SEEDS]
    _choose(browser, "ex-z", "sampler")
    assert browser.evaluate("document.querySelectorAll('#ex-grid .ex-block').length") == len(names)
    assert browser.evaluate("document.querySelectorAll('#ex-grid button.tile').length") == len(names) * len(
        PROMPTS
    ) * len(SEEDS)
    # the fixed selector of an axis on the grid is hidden; the others still pick the slice shown
    assert browser.evaluate("document.querySelector('select[data-axis=steps]').parentElement.hidden") is False
    assert browser.evaluate("document.querySelector('select[data-axis=prompt]').parentElement.hidden") is True
    browser.evaluate(
        "document.getElementById('ex-size').value = 64;"
        "document.getElementById('ex-size').dispatchEvent(new Event('input'))"
    )
    assert browser.evaluate("document.querySelector('#ex-grid button.tile img').width") == 64
    assert browser.problems() == []


@needs_chromium
def test_tile_opens_its_image_with_time_and_metrics(evil_report, browser):
    path, _, _ = evil_report
    browser.load(path.as_uri() + "?rows=sampler&cols=steps&fix.prompt=" + PROMPTS[0].replace(" ", "%20"))
    browser.evaluate("document.querySelector('#ex-grid button.tile:not(.failed)').click()")
    assert browser.evaluate("document.getElementById('ex-dialog').open") is True
    text = browser.evaluate("document.getElementById('ex-dialog').innerText")
    assert "this image:" in text and "ODE error" in text and "full-resolution image" in text
    assert browser.evaluate("document.getElementById('ex-d-img').naturalWidth") > 0


@needs_chromium
def test_script_payloads_render_as_text(evil_report, browser):
    path, _, _ = evil_report
    html = path.read_text("utf-8")
    assert EVIL_SAMPLER not in html and EVIL_OPTION not in html and XSS_PROMPT not in html
    assert len(re.findall(r"<script\b", html)) == 2
    browser.load(path.as_uri() + "?rows=option%3Aeta&cols=sampler")
    body = browser.evaluate("document.body.innerText")
    assert EVIL_SAMPLER in body and "<script>alert('name')</script>" in body
    assert f"eta = {json.dumps(EVIL_OPTION)}" in browser.evaluate(ROW_HEADERS)
    assert browser.evaluate("document.querySelectorAll('img[src=x]').length") == 0
    assert browser.problems() == [] and browser.dialogs == []


@pytest.mark.slow
@needs_chromium
def test_five_thousand_cell_page_loads_within_budget(tmp_path):
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "perf"))
    from report import synthetic_run

    from bench.commands.report import build

    cells = synthetic_run(tmp_path, 30)
    assert cells == 4800
    path, rebuilt = build(tmp_path)
    assert rebuilt and build(tmp_path) == (path, False)  # unchanged store: up to date
    with Browser(timeout=60) as b:
        b.viewport(1280, 1600)
        start = time.perf_counter()
        b.load(path.as_uri())
        assert time.perf_counter() - start < 3.0
        assert b.evaluate("document.querySelectorAll('#ex-grid button.tile').length") == 30 * 5
        assert b.evaluate(BROKEN) == 0 and b.problems() == []


def test_missing_axis_values_are_a_value_of_their_own(tmp_path):
    results, _ = make_fake_run(tmp_path, prompts=PROMPTS[:1], fail=False)
    results["clip_skip"] = [None if seed == SEEDS[0] else 2 for seed in results["seed"]]
    payload = build_explorer(results, tmp_path, report_axes(), [], None, EmbedMode())
    axis = next(a for a in payload["axes"] if a["key"] == "clip_skip")
    assert sorted(axis["values"]) == ["clip skip (none)", "clip skip 2"]
    assert len({tuple(c["v"]) for c in payload["cells"]}) == len(results)


# ---- a prompt suite's category: a choice like an axis ----------------------------------------------
CATEGORIES = {PROMPTS[0]: "Animals", PROMPTS[1]: None, PROMPTS[2]: "Animals"}  # PROMPTS[1]: no label


def _labelled_run(run_dir: Path):
    results, meta = make_fake_run(run_dir)
    results["prompt_category"] = results["prompt"].map(CATEGORIES)
    results["prompt_challenge"] = None  # a suite without this label (DrawBench): no choice
    return results, meta


def test_category_is_a_choice_only_where_cells_are_labelled(tmp_path):
    plain, _ = make_fake_run(tmp_path)
    args = (tmp_path, report_axes(), [METRICS["ode_error"]], METRICS["ode_error"], EmbedMode())
    before = build_explorer(plain, *args)
    assert "groups" not in before and all("g" not in c for c in before["cells"])
    unlabelled = plain.assign(prompt_category=None, prompt_challenge=None)  # a plain list of prompts
    assert build_explorer(unlabelled, *args) == before  # the same payload, no empty Category
    results, _ = _labelled_run(tmp_path)
    payload = build_explorer(results, *args)
    assert payload["groups"] == [
        {"key": "prompt_category", "label": "category", "values": ["Animals", "(none)"], "of": "prompt"}
    ]
    assert payload["axes"] == before["axes"]  # a label, not an axis: cell values unchanged
    values = payload["groups"][0]["values"]
    got = [values[c["g"][0]] for c in payload["cells"]]
    assert got == [CATEGORIES[p] or "(none)" for p in results["prompt"]]


@pytest.fixture(scope="module")
def labelled_report(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("labelled")
    results, meta = _labelled_run(run_dir)
    return reports.build_report(results, meta, run_dir, record=RECORD)


TILES_PER_CELL = (
    "Array.from(document.querySelectorAll('#ex-grid tbody tr'))"
    ".map(tr => Array.from(tr.querySelectorAll('td')).map(td => td.querySelectorAll('button.tile').length))"
)


@needs_chromium
def test_choosing_category_draws_one_row_per_category(labelled_report, evil_report, browser):
    browser.load(evil_report[0].as_uri())  # no labels: no Category choice
    options = "Array.from(document.getElementById('ex-rows').options).map(o => o.textContent)"
    assert not any(o.startswith("category") for o in browser.evaluate(options))
    browser.load(labelled_report.as_uri())
    assert "category (2)" in browser.evaluate(options)
    assert "challenge" not in " ".join(browser.evaluate(options))
    _choose(browser, "ex-rows", "category")
    _choose(browser, "ex-cols", "sampler")
    assert browser.evaluate(ROW_HEADERS) == ["Animals", "(none)"]
    assert browser.evaluate(COL_HEADERS) == [s.name for s in SAMPLERS]
    # a cell: every prompt of its category (seed and steps fixed by their selectors); prompt is free
    assert browser.evaluate(TILES_PER_CELL) == [[2] * len(SAMPLERS), [1] * len(SAMPLERS)]
    assert browser.evaluate("document.querySelector('select[data-axis=prompt]').parentElement.hidden") is True
    titles = browser.evaluate(
        "Array.from(document.querySelectorAll('#ex-grid tbody tr:first-child button.tile')).map(b => b.title)"
    )
    assert all(PROMPTS[0] in t or PROMPTS[2] in t for t in titles)
    assert any(PROMPTS[0] in t for t in titles) and any(PROMPTS[2] in t for t in titles)
    assert browser.evaluate("document.querySelectorAll('#ex-grid img').length") > 0
    assert browser.problems() == []


@needs_chromium
def test_category_as_a_filter_keeps_its_prompts(labelled_report, browser):
    browser.load(labelled_report.as_uri() + "?rows=prompt&cols=sampler&fix.prompt_category=Animals")
    assert browser.evaluate(ROW_HEADERS) == [PROMPTS[0], PROMPTS[2]]
    assert browser.evaluate(TILES_PER_CELL) == [[1] * len(SAMPLERS)] * 2
    browser.load(labelled_report.as_uri() + "?rows=sampler&cols=steps&fix.prompt_category=(none)")
    assert browser.evaluate(TILES_PER_CELL) == [[1] * len(STEPS)] * len(SAMPLERS)  # its one prompt
    titles = browser.evaluate("Array.from(document.querySelectorAll('#ex-grid button.tile')).map(b => b.title)")
    assert all(PROMPTS[1] in t for t in titles)
    # category and prompt both on the grid: a prompt outside the row's category is not a missing image
    browser.load(labelled_report.as_uri() + "?rows=prompt_category&cols=prompt")
    missing = browser.evaluate("Array.from(document.querySelectorAll('#ex-grid .missing')).map(m => m.textContent)")
    assert missing == ["not in this category"] * 3  # Animals x PROMPTS[1], (none) x PROMPTS[0] and [2]
    assert browser.problems() == []
