"""Summary, Pareto front and recommendations: checked against brute force and the fixture's known laws."""

from __future__ import annotations

import dataclasses
import itertools
import math

import pandas as pd
import pytest
from reports_fixture import FAILED_CELL, REPEAT_FACTORS, SAMPLERS, STEPS, make_fake_run, ode_error, report_axes

from reports.frame import config_keys, repeats_of, summarise
from reports.metrics import METRICS, main_metric, present_metrics
from reports.recommend import advise, best_by_budget, budget_ladder, eligible, fastest_near_best, pareto_front


def _rows(points: list[tuple[str, float, float]], metric: str = "ode_error", stochastic=()) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "label": label,
                "sampler": label.split("@")[0],
                "steps": 10,
                "time_s": t,
                metric: q,
                "n_failed": 0,
                "stochastic": label in stochastic,
            }
            for label, t, q in points
        ]
    )


def _brute_front(points: list[tuple[str, float, float]], lower_better: bool) -> set[str]:
    """Members no other point dominates (no worse on both, better on one): the definition, O(n^2)."""
    sign = 1 if lower_better else -1
    front = set()
    for a in points:
        dominated = any(
            b[1] <= a[1] and sign * b[2] <= sign * a[2] and (b[1] < a[1] or sign * b[2] < sign * a[2])
            for b in points
            if b is not a
        )
        if not dominated:
            front.add(a[0])
    return front


@pytest.mark.parametrize("goal_metric", ["ode_error", "alignment"])
def test_pareto_front_matches_brute_force(goal_metric):
    grid = [0.1, 0.2, 0.3, 0.5, 0.8]
    points = [(f"s{i}@0", t, q) for i, (t, q) in enumerate(itertools.product(grid, [0.9, 0.5, 0.7, 0.2]))]
    points += [("x@0", 0.25, 0.6), ("y@0", 0.25, 0.3), ("z@0", 0.05, 0.95)]
    spec = METRICS[goal_metric]
    front = pareto_front(_rows(points, goal_metric), spec)
    assert set(front["label"]) == _brute_front(points, spec.goal == "min")
    assert list(front["time_s"]) == sorted(front["time_s"])


def test_fastest_within_one_percent_of_best():
    spec = METRICS["alignment"]
    rows = _rows([("slow@best", 1.0, 0.900), ("fast@close", 0.4, 0.8925), ("faster@far", 0.2, 0.85)], "alignment")
    pick = fastest_near_best(rows, spec)
    assert pick.label == "fast@close"  # 0.8925 >= 0.99 * 0.9 = 0.891; 0.85 is not
    rows.loc[1, "alignment"] = 0.890
    assert fastest_near_best(rows, spec).label == "slow@best"


def test_closer_to_one_uses_absolute_one_percent():
    spec = METRICS["fidelity"]
    rows = _rows([("a@1", 1.0, 1.001), ("b@1", 0.5, 0.992), ("c@1", 0.1, 1.05)], "fidelity")
    assert spec.loss(rows["fidelity"]).round(6).tolist() == [0.001, 0.008, 0.05]
    assert fastest_near_best(rows, spec).label == "b@1"


def test_budget_ladder_is_round_and_covers_the_range():
    assert budget_ladder(0.013, 0.9) == pytest.approx([0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
    assert budget_ladder(2.0, 2.0) == pytest.approx([2.0])
    assert budget_ladder(0.0, 1.0) == []


def test_best_by_budget_fits_each_budget_and_improves():
    spec = METRICS["ode_error"]
    points = [("a@1", 0.03, 0.5), ("b@1", 0.07, 0.1), ("c@1", 0.15, 0.2), ("d@1", 0.4, 0.01)]
    picks = best_by_budget(_rows(points), spec)
    assert [p.label for p in picks] == ["a@1", "b@1", "d@1"]
    for pick in picks:
        budget = float(pick.reason.split()[1])
        assert pick.time_s <= budget
        better = [q for _, t, q in points if t <= budget]
        assert pick.value == min(better)


def test_eligible_drops_failed_and_stochastic_for_ode_distance():
    rows = _rows([("sde@1", 0.1, 0.01), ("ode@1", 0.2, 0.02), ("broken@1", 0.05, 0.001)], stochastic=("sde@1",))
    rows.loc[2, "n_failed"] = 1
    kept, notes = eligible(rows, METRICS["ode_error"])
    assert list(kept["label"]) == ["ode@1"]
    assert len(notes) == 2
    not_a_distance = dataclasses.replace(METRICS["ode_error"], exact_only_for_deterministic=False)
    kept, _ = eligible(rows, not_a_distance)
    assert set(kept["label"]) == {"sde@1", "ode@1"}  # other metrics do rank stochastic samplers


def test_summary_follows_the_fixture_laws(tmp_path):
    results, _ = make_fake_run(tmp_path)
    summary = summarise(results, report_axes())
    assert config_keys(results, report_axes()) == ["sampler", "steps"]
    assert len(summary) == len(SAMPLERS) * len(STEPS)
    assert list(dict.fromkeys(summary["sampler"])) == [s.name for s in SAMPLERS]
    for s in SAMPLERS:
        for n in STEPS:
            row = summary[(summary["sampler"] == s.name) & (summary["steps"] == n)].iloc[0]
            assert row["time_s"] == pytest.approx(s.sec_per_step * n)
            assert row["time_min"] == pytest.approx(s.sec_per_step * n * min(REPEAT_FACTORS))
            assert row["time_max"] == pytest.approx(s.sec_per_step * n * max(REPEAT_FACTORS))
            assert row["ode_error"] == pytest.approx(ode_error(s, n))
            assert row["n_failed"] == int((s.name, n) == FAILED_CELL[:2])
            assert row["label"] == f"{s.name} · {n} steps"


def test_advice_on_fixture_matches_independent_ranking(tmp_path):
    results, _ = make_fake_run(tmp_path)
    advice = advise(summarise(results, report_axes()), METRICS["ode_error"])
    candidates = [
        (f"{s.name} · {n} steps", s.sec_per_step * n, ode_error(s, n))
        for s in SAMPLERS
        if not s.stochastic
        for n in STEPS
        if (s.name, n) != FAILED_CELL[:2]
    ]
    best = min(candidates, key=lambda c: c[2])
    assert advice.best.label == best[0]
    near = [c for c in candidates if c[2] <= best[2] * 1.01]
    assert advice.fastest_near_best.label == min(near, key=lambda c: c[1])[0]
    assert set(advice.front_labels) == _brute_front(candidates, lower_better=True)
    assert any("stochastic" in note for note in advice.excluded)


def test_metric_registry_and_present_metrics(tmp_path):
    results, _ = make_fake_run(tmp_path)
    assert [m.name for m in present_metrics(results)] == ["ode_error", "alignment", "fidelity"]
    assert main_metric(results).name == "ode_error"
    assert main_metric(results.drop(columns=["ode_error"])).name == "alignment"
    assert main_metric(results.drop(columns=["ode_error", "alignment", "fidelity"])) is None
    assert METRICS["ode_error"].format(0.00123) == "1.23e-03"
    assert METRICS["alignment"].format(math.nan) == "n/a"


def test_repeats_of_accepts_store_containers():
    assert repeats_of([0.1, 0.2]) == [0.1, 0.2]
    assert repeats_of("[0.1, 0.3]") == [0.1, 0.3]
    assert repeats_of(None) == [] and repeats_of(math.nan) == [] and repeats_of("") == []
