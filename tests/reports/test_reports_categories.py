"""reports/categories.py: each metric's mean per configuration x prompt category, from the frame alone."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from reports_fixture import PROMPTS, RECORD, make_fake_run, report_axes

import reports
from reports.categories import category_tables, per_category
from reports.metrics import METRICS

LABELS = {PROMPTS[0]: "Animals", PROMPTS[1]: "<b>Vehicles</b>", PROMPTS[2]: "Animals"}


def labelled(tmp_path: Path) -> tuple[pd.DataFrame, dict]:
    results, meta = make_fake_run(tmp_path)
    results["prompt_category"] = results["prompt"].map(LABELS)
    results["prompt_challenge"] = None
    results["fid"] = 12.5  # a set metric: one value over every prompt, no per-category mean
    return results, meta


def expected(results: pd.DataFrame, sampler: str, steps: int, category: str, metric: str) -> tuple[int, float]:
    values = [
        r[metric]
        for _, r in results.iterrows()
        if r["status"] == "ok" and (r["sampler"], r["steps"], r["prompt_category"]) == (sampler, steps, category)
    ]
    return len(values), sum(values) / len(values)


def test_the_record_hands_its_label_columns_to_the_report() -> None:
    assert [g.column for g in report_axes().groups] == ["prompt_category", "prompt_challenge"]
    assert "prompt_category" not in report_axes().columns  # a label, not an axis


def test_means_per_configuration_and_category(tmp_path: Path) -> None:
    results, _ = labelled(tmp_path)
    frame = per_category(results, ["sampler", "steps"], "prompt_category", ["ode_error", "alignment"])
    assert len(frame) == 3 * 3 * 2  # samplers x steps x categories
    assert list(frame["prompt_category"].unique()) == ["Animals", "<b>Vehicles</b>"]  # file order
    for _, row in frame.iterrows():
        n, mean = expected(results, row["sampler"], row["steps"], row["prompt_category"], "ode_error")
        assert row["n_images"] == n and math.isclose(row["ode_error"], mean)
    failed = frame[(frame.sampler == "DDIM") & (frame.steps == 5) & (frame.prompt_category == "Animals")]
    assert int(failed["n_images"].iloc[0]) == 3  # 2 prompts x 2 seeds, less the failed cell


def test_one_table_per_label_column_with_values_and_no_set_metric(tmp_path: Path) -> None:
    results, _ = labelled(tmp_path)
    metrics = [METRICS[m] for m in ("ode_error", "alignment", "fid")]
    tables = category_tables(results, metrics, {}, report_axes(), {"alignment"})
    assert [t.id for t in tables] == ["by-prompt_category"]  # the challenge column is all empty
    keys = [c.key for c in tables[0].columns]
    assert "fid" not in keys and keys[:4] == ["sampler", "steps", "prompt_category", "images"]
    assert "alignment: computed with random weights" in tables[0].note
    assert category_tables(results.drop(columns=["prompt_category"]), metrics, {}, report_axes(), set()) == []


def test_cells_without_a_category_are_grouped_as_none(tmp_path: Path) -> None:
    results, _ = labelled(tmp_path)
    results.loc[results["prompt"] == PROMPTS[1], "prompt_category"] = None
    frame = per_category(results, ["sampler", "steps"], "prompt_category", ["ode_error"])
    assert set(frame["prompt_category"]) == {"Animals", "(none)"}


@pytest.mark.parametrize("with_labels", [True, False])
def test_the_report_shows_the_table_only_for_suite_prompts(tmp_path: Path, with_labels: bool) -> None:
    results, meta = labelled(tmp_path) if with_labels else make_fake_run(tmp_path)
    html = reports.build_report(results, meta, tmp_path, record=RECORD).read_text(encoding="utf-8")
    assert ('id="by-prompt_category"' in html) is with_labels
    assert "<b>Vehicles</b>" not in html  # escaped like all user text
    if with_labels:
        assert "&lt;b&gt;Vehicles&lt;/b&gt;" in html
        n, mean = expected(results, "Euler a", 10, "Animals", "ode_error")
        assert METRICS["ode_error"].format(mean) in html
