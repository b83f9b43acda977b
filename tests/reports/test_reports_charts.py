"""Charts: files written, the expected series drawn, colours shared, Pareto members named."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from matplotlib.colors import to_hex
from PIL import Image
from reports_fixture import (
    FAILED_CELL,
    SAMPLERS,
    STEPS,
    make_fake_run,
    ode_error,
    report_axes,
)

from reports import charts
from reports.frame import summarise
from reports.metrics import METRICS, present_metrics
from reports.palette import sampler_colours

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("charts")
    results, _ = make_fake_run(run_dir)
    summary = summarise(results, report_axes())
    colours = sampler_colours(results["sampler"])
    made = charts.render_charts(summary, colours, present_metrics(results), run_dir, "cpu_peak_rss_process")
    return run_dir, summary, colours, {c.name: c for c in made}


def _svg_texts(path) -> list[str]:
    root = ET.parse(path).getroot()
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG}text")]


def test_every_chart_has_png_and_svg(drawn):
    run_dir, _, _, made = drawn
    assert set(made) == {
        "time_bars",
        "time_vs_steps",
        "nfe_vs_steps",
        "quality_ode_error",
        "quality_alignment",
        "quality_fidelity",
    }  # CPU memory is not per cell: no chart
    for chart in made.values():
        with Image.open(run_dir / chart.png) as img:
            assert img.width > 300 and img.height > 100
            assert len(img.convert("RGB").getcolors(1 << 20)) > 10  # not a blank canvas
        assert ET.parse(run_dir / chart.svg).getroot().tag == f"{SVG}svg"


def test_each_chart_draws_every_sampler_in_its_colour(drawn):
    run_dir, _, colours, made = drawn
    names = {s.name for s in SAMPLERS}
    for chart in made.values():
        assert set(chart.series) == names, chart.name
        texts = _svg_texts(run_dir / chart.svg)
        for name in names:  # a legend entry or bar label, kept as text ("Euler a (not ranked)" counts)
            assert any(t == name or t.startswith(name + " (") for t in texts), (chart.name, name)
        svg = (run_dir / chart.svg).read_text()
        for name in names:
            assert colours[name] in svg, (chart.name, name)


def test_time_bars_are_sorted_with_repeat_spread(drawn):
    _, summary, colours, _ = drawn
    fig, _ = charts.time_bars(summary, colours)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in axes] == [f"{n} steps" for n in STEPS]
    for ax, n in zip(axes, STEPS):
        widths = [p.get_width() for p in ax.patches]
        expected = sorted((s.sec_per_step * n for s in SAMPLERS), reverse=True)  # fastest drawn on top
        assert widths == pytest.approx(expected)
        labels = [t.get_text() for t in ax.get_yticklabels()]
        by_name = {s.name: s for s in SAMPLERS}
        assert [by_name[label].sec_per_step * n for label in labels] == pytest.approx(expected)
        assert [to_hex(p.get_facecolor()) for p in ax.patches] == [colours[label] for label in labels]
        assert len(ax.containers) == 2  # the bars and their error bars


def test_quality_chart_names_the_pareto_front(drawn):
    run_dir, summary, colours, made = drawn
    fig, _ = charts.quality_vs_time(summary, colours, METRICS["ode_error"])
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    # independent front: deterministic samplers without failures, dominated points removed
    pts = [
        (f"{s.name} · {n} steps", s.sec_per_step * n, ode_error(s, n))
        for s in SAMPLERS
        if not s.stochastic
        for n in STEPS
        if (s.name, n) != FAILED_CELL[:2]
    ]
    front = {a[0] for a in pts if not any(b[1] <= a[1] and b[2] <= a[2] and b != a for b in pts)}
    assert not ax.texts  # no labels on the plot (they overlap at scale): the caption names the front
    caption = made["quality_ode_error"].caption
    named = caption[caption.index("Pareto front, fastest first: ") + 29 :].rstrip(".").split(", ")
    assert set(named) == front
    texts = _svg_texts(run_dir / made["quality_ode_error"].svg)
    assert "Pareto front" in texts
    assert any("not ranked" in t for t in texts)  # the stochastic sampler is drawn hollow


def test_linear_metric_and_random_weights_title(drawn):
    _, summary, colours, _ = drawn
    fig, _ = charts.quality_vs_time(summary, colours, METRICS["alignment"])
    assert fig.axes[0].get_yscale() == "linear"
    clip = summary.assign(clip_score=summary["alignment"] * 30)
    fig, _ = charts.quality_vs_time(clip, colours, METRICS["clip_score"], random_weights=True)
    assert "random weights" in fig.get_suptitle()


def test_nfe_and_time_lines_follow_steps(drawn):
    _, summary, colours, _ = drawn
    fig, series = charts.nfe_vs_steps(summary, colours)
    lines = [line for ax in fig.axes for line in ax.get_lines() if line.get_label() in series]
    assert len(lines) == len(SAMPLERS)
    for line in lines:
        assert list(line.get_xdata()) == list(STEPS)
        assert to_hex(line.get_color()) == colours[line.get_label()]
    ylabel = charts.time_vs_steps(summary, colours)[0].axes[0].get_ylabel()
    assert re.search(r"s/image", ylabel)


def _many_samplers(n: int = 60) -> pd.DataFrame:
    """A summary of n samplers in two families at 4 step counts whose times span three decades."""
    rows = []
    for i in range(n):
        family = "k" if i % 3 else "diffusers"
        for steps in (5, 10, 20, 40):
            t = 0.001 * (1 + i) * steps / 5
            name = f"sampler {i:02d}"
            rows.append(
                {
                    "sampler": name,
                    "sampler_id": f"{family}:algo{i}",
                    "steps": steps,
                    "time_s": t,
                    "time_min": t * 0.9,
                    "time_max": t * 1.2,
                    "nfe": float(steps * (1 + i % 2)),
                    "stochastic": False,
                    "n_failed": 0,
                    "ode_error": 0.5 / steps ** (1 + i % 3),
                    "slice": "",
                    "series": name,
                    "label": f"{name} · {steps} steps",
                    "choice": f"{name} · {steps} steps",
                }
            )
    return pd.DataFrame(rows)


def test_sixty_samplers_fit_small_multiples_with_legends_inside_the_figure(tmp_path):
    summary = _many_samplers()
    colours = sampler_colours(summary["sampler"])
    for fig, _ in (
        charts.time_vs_steps(summary, colours),
        charts.quality_vs_time(summary, colours, METRICS["ode_error"]),
    ):
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert len(panels) == 6  # 40 k-diffusion samplers in 4 panels of 10, 20 diffusers ones in 2
        fig.savefig(tmp_path / "c.png", dpi=60)
        renderer = fig._get_renderer()
        box = fig.bbox
        for ax in panels:
            legend = ax.get_legend()
            assert len(legend.get_texts()) <= charts.PANEL_SERIES + 1
            lb = legend.get_window_extent(renderer)
            assert lb.x0 >= box.x0 - 1 and lb.x1 <= box.x1 + 1 and lb.y0 >= box.y0 - 1, ax.get_title()
        drawn = {t.get_text() for ax in panels for t in ax.get_legend().get_texts()}
        assert {f"sampler {i:02d}" for i in range(60)} <= drawn
    fig, _ = charts.quality_vs_time(summary, colours, METRICS["ode_error"])
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_yscale() == "log"  # both span decades


def test_step_ticks_are_the_integer_step_counts_and_markers_vary():
    summary = _many_samplers(12)
    colours = sampler_colours(summary["sampler"])
    fig, _ = charts.time_vs_steps(summary, colours)
    ax = fig.axes[0]
    fig.draw_without_rendering()
    assert list(ax.get_xticks()) == [5, 10, 20, 40]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["5", "10", "20", "40"]
    assert ax.get_yscale() == "log"
    markers = {charts.marker_of(name, colours) for name in list(colours)[:10]}
    assert len(markers) == 10


def test_memory_chart_only_where_memory_is_per_cell(tmp_path):
    results, _ = make_fake_run(tmp_path, fail=False)
    summary = summarise(results, report_axes())
    colours = sampler_colours(results["sampler"])
    cuda = charts.render_charts(summary, colours, [], tmp_path, "cuda_max_allocated")
    assert "peak_memory" in {c.name for c in cuda}
    cpu = charts.render_charts(summary, colours, [], tmp_path / "cpu", "cpu_peak_rss_process")
    assert "peak_memory" not in {c.name for c in cpu}
