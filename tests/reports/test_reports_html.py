"""The HTML report: content and escaping read from the file, behaviour checked in headless Chromium."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

import pytest
from PIL import Image, ImageStat
from reports_browser import CHROMIUM, Browser
from reports_fixture import (
    FAIL_ERROR,
    FAILED_CELL,
    PROMPTS,
    RECORD,  # noqa: E402
    SAMPLERS,
    SEEDS,
    STEPS,
    XSS_PROMPT,
    make_fake_run,
    ode_error,
)

import reports


class _Links(HTMLParser):
    """Every src/href and every <script> of a page."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.links += [v for k, v in attrs if k in ("src", "href") and v is not None]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    results, meta = make_fake_run(run_dir)
    path = reports.build_report(results, meta, run_dir, record=RECORD)
    return run_dir, path, path.read_text(encoding="utf-8"), results, meta


def test_report_is_written_with_its_folders(report):
    run_dir, path, html, _, _ = report
    assert path == run_dir / "report.html"
    assert any((run_dir / "charts").glob("*.svg")) and any((run_dir / "charts").glob("*.png"))
    assert html.startswith("<!DOCTYPE html>") and "</html>" in html


def test_report_is_self_contained(report):
    run_dir, _, html, _, _ = report
    parser = _Links()
    parser.feed(html)
    assert parser.scripts == 2  # the explorer's JSON and our own inline script, nothing else
    for link in parser.links:
        assert not re.match(r"^(https?:)?//", link), link
        if link.startswith(("#", "data:")):
            continue
        assert (run_dir / link).is_file(), link  # every chart and full-resolution link resolves
    assert not re.search(r'<img[^>]+src="(?!data:)', html)  # every picture is embedded
    assert "@import" not in html and "url(http" not in html and "Self-contained" in html


def test_user_text_is_escaped(report):
    _, _, html, _, meta = report
    assert XSS_PROMPT not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>not bold</b>" not in html and "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "<i>bench</i>" not in html and "fake &lt;i&gt;bench&lt;/i&gt;" in html
    assert "&lt;unescaped?&gt;" in html  # the run's own warning, escaped too


def test_sections_warnings_and_environment(report):
    _, _, html, results, meta = report
    for section in ("verdict", "summary", "explorer", "charts", "results", "failures", "environment"):
        assert f'id="{section}"' in html
    assert "CPU timing" in html and "CLIP weights missing" in html
    assert f"1 of {len(results)} cells failed" in html
    assert meta["environment"]["git"] in html and "0.1.1.post1" in html and "Fake CPU" in html


def test_recommendation_names_the_independent_pick(report):
    _, _, html, _, _ = report
    pts = [
        (f"{s.name} · {n} steps", s.sec_per_step * n, ode_error(s, n))
        for s in SAMPLERS
        if not s.stochastic
        for n in STEPS
        if (s.name, n) != FAILED_CELL[:2]
    ]
    best = min(p[2] for p in pts)
    pick = min((p for p in pts if p[2] <= 1.01 * best), key=lambda p: p[1])  # noise-free fixture: no ties
    block = html[html.index('class="verdict"') :]
    block = block[: block.index("</div>")]
    assert re.search(r'class="pick">' + re.escape(pick[0]) + "<", block)


def test_failures_list_every_failed_cell(report):
    _, _, html, results, _ = report
    failures = html[html.index('id="failures"') : html.index('id="environment"')]
    assert failures.count('<pre class="err">') == int((results["status"] == "failed").sum()) == 1
    assert FAIL_ERROR.replace("<", "&lt;").replace(">", "&gt;") in failures


def test_regenerating_gives_the_same_page(report):
    run_dir, path, html, results, meta = report
    assert reports.build_report(results, meta, run_dir, record=RECORD).read_text(encoding="utf-8") == html


def test_random_weights_and_no_metrics(tmp_path):
    results, meta = make_fake_run(
        tmp_path, metrics=False, random_weights=True, prompts=PROMPTS[:1], seeds=SEEDS[:1], fail=False
    )
    meta["warnings"] = []
    html = reports.build_report(results, meta, tmp_path, record=RECORD).read_text(encoding="utf-8")
    assert "random weights" in html and "images and CLIP scores are not meaningful" in html
    assert "No CLIP score in this run" in html
    fastest = min((s.sec_per_step * n, f"{s.name} · {n} steps") for s in SAMPLERS for n in STEPS)
    assert f'class="pick">{fastest[1]}<' in html


def test_missing_columns_are_refused(tmp_path):
    results, meta = make_fake_run(tmp_path, prompts=PROMPTS[:1], seeds=SEEDS[:1])
    with pytest.raises(reports.ReportError, match="sample_s"):
        reports.build_report(results.drop(columns=["sample_s"]), meta, tmp_path, record=RECORD)
    with pytest.raises(reports.ReportError, match="empty"):
        reports.build_report(results.iloc[:0], meta, tmp_path, record=RECORD)


# ---- in a real browser -----------------------------------------------------------------------------
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed")
TIMES = "Array.from(document.querySelectorAll('#configs tbody tr')).map(r => r.cells[2].getAttribute('data-sort'))"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with Browser() as b:
        b.viewport(1280, 2000)
        yield b


def _time_values(browser) -> list[float]:
    return [float(v) for v in browser.evaluate(TIMES)]


@needs_chromium
def test_page_loads_without_errors_and_script_text_stays_text(report, browser):
    _, path, _, _, _ = report
    browser.load(path.as_uri())
    assert browser.problems() == []
    assert browser.evaluate("document.scripts.length") == 2
    assert browser.evaluate(f"document.body.innerText.includes({XSS_PROMPT!r})")
    shot = Image.open(io.BytesIO(browser.screenshot())).convert("RGB")
    assert shot.size == (1280, 2000)
    stat = ImageStat.Stat(shot.convert("L"))
    assert stat.stddev[0] > 20  # text, boxes and colours, not a blank page
    assert len(shot.getcolors(1 << 22)) > 50
    shot.save(path.parent / "screenshot.png")


@needs_chromium
def test_table_sorts_on_header_click(report, browser):
    _, path, _, _, _ = report
    browser.load(path.as_uri())
    before = _time_values(browser)
    assert before != sorted(before)  # config order, not time order
    click = "document.querySelector('#configs th[data-key=\"time\"] button').click()"
    browser.evaluate(click)
    assert _time_values(browser) == sorted(before)
    assert (
        browser.evaluate("document.querySelector('#configs th[data-key=\"time\"]').getAttribute('aria-sort')")
        == "ascending"
    )
    browser.evaluate(click)
    assert _time_values(browser) == sorted(before, reverse=True)
    assert browser.problems() == []


@needs_chromium
def test_query_flag_sorts_and_filters_on_load(report, browser):
    _, path, _, _, _ = report
    browser.load(path.as_uri() + "?sort=time&dir=descending&filter=ddim")
    times = _time_values(browser)
    visible = browser.evaluate(
        "Array.from(document.querySelectorAll('#configs tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[0].textContent)"
    )
    assert times == sorted(times, reverse=True)
    assert visible == ["DDIM"] * len(STEPS)
    assert (
        browser.evaluate("document.getElementById('configs-count').textContent")
        == f"{len(STEPS)} of {len(SAMPLERS) * len(STEPS)} rows"
    )


@needs_chromium
def test_phone_width_has_no_page_overflow(report, browser):
    _, path, _, _, _ = report
    browser.viewport(390, 844, mobile=True)
    try:
        browser.load(path.as_uri())
        width = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
        assert browser.problems() == []
    finally:
        browser.viewport(1280, 2000)


def test_a_run_where_every_cell_failed_still_reports(tmp_path):
    results, meta = make_fake_run(tmp_path, prompts=PROMPTS[:1], seeds=SEEDS[:1])
    for column in ("sample_s", "total_s", "nfe", "ode_error", "alignment", "fidelity"):
        results[column] = float("nan")
    results = results.assign(
        status="failed", error="CUDA out of memory", image=None, sample_s_repeats=[[] for _ in range(len(results))]
    )
    html = reports.build_report(results, meta, tmp_path, record=RECORD).read_text(encoding="utf-8")
    assert "Nothing to recommend" in html and "No charts" in html
    assert html.count('<pre class="err">CUDA out of memory</pre>') == len(results)
    assert not any((tmp_path / "charts").iterdir())


def test_store_like_types_nan_for_none_and_json_repeats(tmp_path):
    results, meta = make_fake_run(tmp_path, prompts=PROMPTS[:1], metrics=False)
    results = results.assign(
        error=[float("nan")] * len(results),
        image=results["image"].where(results["image"].notna(), float("nan")),
        sample_s_repeats=[json.dumps(v) for v in results["sample_s_repeats"]],
        stochastic=results["stochastic"].astype(int),
        random_weights=0,
    )
    html = reports.build_report(results, meta, tmp_path, record=RECORD).read_text(encoding="utf-8")
    assert 'href="nan"' not in html and "no error message recorded" in html
    assert "0.0475–0.055" in html  # Euler a at 5 steps: repeat range read back from JSON text


def test_rebuilding_without_a_metric_removes_its_stale_chart(tmp_path):
    results, meta = make_fake_run(tmp_path, prompts=PROMPTS[:1], seeds=SEEDS[:1], fail=False)
    reports.build_report(results, meta, tmp_path, record=RECORD)
    assert (tmp_path / "charts" / "quality_fidelity.svg").is_file()
    reports.build_report(results.drop(columns=["fidelity"]), meta, tmp_path, record=RECORD)
    assert not (tmp_path / "charts" / "quality_fidelity.svg").exists()
    assert (tmp_path / "charts" / "quality_ode_error.svg").is_file()


@needs_chromium
def test_quoted_filter_matches_whole_cells_only(report, browser):
    _, path, _, _, _ = report
    browser.load(path.as_uri() + '?filter="5"')
    visible = browser.evaluate(
        "Array.from(document.querySelectorAll('#configs tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[1].textContent)"
    )
    assert visible == ["5"] * len(SAMPLERS)  # "5" alone: not 0.05 s nor 15 NFE
    browser.load(path.as_uri() + "?filter=5")
    assert browser.evaluate(
        "Array.from(document.querySelectorAll('#configs tbody tr')).filter(r => !r.hidden).length"
    ) > len(SAMPLERS)
