"""Grid geometry, labels, tiles and paging on a small fake run (real PNGs, real PIL drawing)."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image
from reports_fixture import FAIL_ERROR, FAILED_CELL, PROMPTS, SAMPLERS, SEEDS, STEPS, make_fake_run, report_axes

from reports import draw
from reports.grids import GridSpec, Layout, default_specs, render_grids

SAMPLER_STEPS = GridSpec("samplers-steps", "Samplers × steps", "sampler", "steps")


@pytest.fixture()
def run(tmp_path):
    results, meta = make_fake_run(tmp_path)
    return tmp_path, results


def _overlap(a, b) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_samplers_by_steps_geometry_and_labels(run):
    run_dir, results = run
    pages = render_grids(results, run_dir, SAMPLER_STEPS, report_axes())
    assert len(pages) == len(PROMPTS) * len(SEEDS)  # one grid per (prompt, seed), one page each
    assert {dict(p.fixed)["seed"] for p in pages} == {str(s) for s in SEEDS}
    for page in pages:
        assert page.row_labels == tuple(s.name for s in SAMPLERS)
        assert page.col_labels == tuple(f"{n} steps" for n in STEPS)
        assert len(page.tiles) == len(SAMPLERS) * len(STEPS)
        width, height = page.size
        with Image.open(run_dir / page.path) as img:
            assert img.size == page.size
        boxes = [t.box for t in page.tiles]
        assert all(0 <= x and 0 <= y and x + w <= width and y + h <= height for x, y, w, h in boxes)
        assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
        # row-major: same row shares y, same column shares x, columns go left to right
        for i in range(len(SAMPLERS)):
            row = boxes[i * len(STEPS) : (i + 1) * len(STEPS)]
            assert len({y for _, y, _, _ in row}) == 1
            assert [x for x, _, _, _ in row] == sorted(x for x, _, _, _ in row)
        for j in range(len(STEPS)):
            assert len({boxes[i * len(STEPS) + j][0] for i in range(len(SAMPLERS))}) == 1


def test_tiles_show_the_right_image_in_the_right_place(run):
    run_dir, results = run
    page = render_grids(results, run_dir, SAMPLER_STEPS, report_axes())[0]
    with Image.open(run_dir / page.path) as img:
        grid = img.convert("RGB")
        for i, sampler in enumerate(SAMPLERS):
            for j, steps in enumerate(STEPS):
                tile = page.tiles[i * len(STEPS) + j]
                if tile.status != "ok":
                    continue
                x, y, w, h = tile.box
                # the fixture draws a disc of the sampler's colour at the image centre
                assert grid.getpixel((x + w // 2, y + h // 2)) == sampler.colour
                assert tile.href.startswith("images/") and (run_dir / tile.href).is_file()
                assert f"{sampler.sec_per_step * steps:.3g} s" in tile.text


def test_failed_cell_gets_a_failed_tile_with_its_reason(run):
    run_dir, results = run
    sampler, steps, prompt, seed = FAILED_CELL
    pages = render_grids(results, run_dir, SAMPLER_STEPS, report_axes())
    page = next(p for p in pages if dict(p.fixed) == {"prompt": prompt, "seed": str(seed)})
    failed = [t for t in page.tiles if t.status == "failed"]
    assert len(failed) == 1 and failed[0].href is None and FAIL_ERROR in failed[0].text
    i, j = page.row_labels.index(sampler), page.col_labels.index(f"{steps} steps")
    assert failed[0] is page.tiles[i * len(STEPS) + j]
    x, y, w, h = failed[0].box
    with Image.open(run_dir / page.path) as img:
        region = img.convert("RGB").crop((x, y, x + w, y + h))
        pink = sum(n for n, c in region.getcolors(w * h) if c == (253, 226, 226))
    assert pink > 0.5 * w * h
    assert sum(t.status == "failed" for p in pages for t in p.tiles) == 1


def test_parameters_text_chunk_names_the_axes(run):
    run_dir, results = run
    page = render_grids(results, run_dir, SAMPLER_STEPS, report_axes())[0]
    with Image.open(run_dir / page.path) as img:
        text = img.text["parameters"]
    assert "rows: sampler = " + " | ".join(s.name for s in SAMPLERS) in text
    assert "columns: steps = " + " | ".join(map(str, STEPS)) in text
    assert f"prompt: {PROMPTS[0]}" in text and f"seed: {SEEDS[0]}" in text and "page: 1/1" in text


def test_large_grids_are_paged_and_downscaled(tmp_path):
    results, _ = make_fake_run(tmp_path, prompts=PROMPTS[:1], seeds=SEEDS[:1], size=(96, 96))
    layout = Layout(tile=64, max_rows=2, max_cols=2, min_width=100)
    pages = render_grids(results, tmp_path, SAMPLER_STEPS, report_axes(), layout)
    assert len(pages) == 4 and [p.page for p in pages] == [1, 2, 3, 4] and {p.pages for p in pages} == {4}
    assert all(len(p.row_labels) <= 2 and len(p.col_labels) <= 2 for p in pages)
    covered = {(r, c) for p in pages for r in p.row_labels for c in p.col_labels}
    assert len(covered) == len(SAMPLERS) * len(STEPS)
    assert all(t.box[2] == 64 for p in pages for t in p.tiles)  # 96 px images shown at 64 px
    assert len({p.path for p in pages}) == 4


def test_default_specs_and_fixed_step_grids(run):
    run_dir, results = run
    specs = default_specs(results, steps=10)
    assert [s.kind for s in specs] == ["samplers-steps", "samplers-seeds", "prompts-samplers"]
    seeds = render_grids(results, run_dir, specs[1], report_axes())
    assert len(seeds) == len(PROMPTS)
    assert all(p.col_labels == tuple(f"seed {s}" for s in SEEDS) and ("steps", "10") in p.fixed for p in seeds)
    prompts = render_grids(results, run_dir, specs[2], report_axes())
    assert len(prompts) == len(SEEDS)
    assert prompts[0].row_labels == PROMPTS and prompts[0].col_labels == tuple(s.name for s in SAMPLERS)


def test_missing_combination_and_random_weights_note(tmp_path):
    results, _ = make_fake_run(tmp_path, prompts=PROMPTS[:1], seeds=SEEDS[:1], fail=False, random_weights=True)
    results = results[~((results["sampler"] == SAMPLERS[0].name) & (results["steps"] == STEPS[0]))]
    page = render_grids(results, tmp_path, SAMPLER_STEPS, report_axes())[0]
    assert page.tiles[0].status == "missing" and page.tiles[0].href is None
    assert "random weights" in page.warning.lower()


def test_wrap_respects_width_and_keeps_words():
    fnt = draw.font(14)
    text = "a very long prompt with a supercalifragilisticexpialidociouswordthatdoesnotfit in it"
    lines = draw.wrap(text, fnt, 120)
    assert len(lines) > 2 and all(fnt.getlength(line) <= 120 for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    capped = draw.wrap(text, fnt, 120, max_lines=2)
    assert len(capped) == 2 and capped[-1].endswith("…") and fnt.getlength(capped[-1]) <= 120


def test_an_extra_varied_axis_becomes_separate_grids(tmp_path):
    results, _ = make_fake_run(tmp_path, prompts=PROMPTS[:1], seeds=SEEDS[:1], fail=False)
    low_cfg = results.assign(cfg_scale=3.5, cell_id=results["cell_id"].str[::-1])
    pages = render_grids(pd.concat([results, low_cfg], ignore_index=True), tmp_path, SAMPLER_STEPS, report_axes())
    assert sorted(dict(p.fixed)["cfg_scale"] for p in pages) == ["3.5", "7.0"]
    assert all(len(p.tiles) == len(SAMPLERS) * len(STEPS) for p in pages)
