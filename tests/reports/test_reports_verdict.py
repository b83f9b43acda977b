"""One verdict per task slice: objective, constraints, ties in quality and in time (reports.verdict)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from reports_fixture import report_axes

from reports.frame import summarise
from reports.objective import Objective, parse, resolve
from reports.verdict import collect_samples, decide, verdicts

AXES = report_axes()


def _cells(configs: dict[tuple[str, int], tuple[list[float], list[float]]], stochastic=(), model="m") -> pd.DataFrame:
    """{(sampler, steps): (times of its cells, ode_error of its cells)}; cell k is prompt p{k//2}, seed k%2."""
    rows = []
    for (sampler, steps), (times, errors) in configs.items():
        for k, (t, e) in enumerate(zip(times, errors)):
            rows.append(
                {
                    "cell_id": f"{sampler}{steps}{k}",
                    "status": "ok",
                    "error": None,
                    "model": model,
                    "prompt": f"p{k // 2}",
                    "seed": k % 2,
                    "sampler": sampler,
                    "sampler_id": f"k:{sampler}",
                    "stochastic": sampler in stochastic,
                    "steps": steps,
                    "nfe": steps,
                    "sample_s": t,
                    "total_s": t,
                    "sample_s_repeats": [t],
                    "peak_mem_bytes": 1,
                    "image": None,
                    "ode_error": e,
                    "alignment": 1 - e,
                }
            )
    return pd.DataFrame(rows)


def _decide(results: pd.DataFrame, objective: Objective):
    summary = summarise(results, AXES)
    return decide(summary, objective, collect_samples(results, AXES, ["ode_error", "alignment"]))


def test_a_slower_looking_cheaper_config_within_noise_still_wins():
    # the case: DDIM · 20 measured 0.953 s, DDIM · 10 1.35 s (one slow first batch): within noise
    results = _cells(
        {
            ("DDIM", 10): ([1.35, 0.93, 0.97, 0.95, 0.99, 0.94], [0.1] * 6),
            ("DDIM", 20): ([0.953, 0.94, 0.96, 0.95, 0.97, 0.96], [0.1] * 6),
        }
    )
    v = _decide(results, Objective(None))
    assert v.pick == "DDIM · 10 steps" and v.ties == ("DDIM · 20 steps",)
    assert any("Mann-Whitney" in r for r in v.reasons) and any("ties in time" in r for r in v.reasons)


def test_faster_beyond_noise_wins_even_with_more_steps():
    results = _cells(
        {
            ("A", 10): ([1.0 + 0.01 * k for k in range(8)], [0.1] * 8),
            ("B", 20): ([0.5 + 0.01 * k for k in range(8)], [0.1] * 8),
        }
    )
    v = _decide(results, Objective(None))
    assert v.pick == "B · 20 steps" and v.ties == ()


def test_quality_ties_by_bootstrap_compete_on_time():
    noisy = [0.10, 0.14, 0.08, 0.12, 0.09, 0.13, 0.11, 0.10]  # mean 0.109
    close = [0.11, 0.12, 0.09, 0.13, 0.10, 0.12, 0.10, 0.12]  # mean 0.111: not distinguishable
    far = [0.30] * 8
    results = _cells(
        {
            ("Best", 40): ([2.0 + 0.01 * k for k in range(8)], noisy),
            ("Close", 10): ([0.5 + 0.01 * k for k in range(8)], close),
            ("Far", 5): ([0.1 + 0.01 * k for k in range(8)], far),
        }
    )
    v = _decide(results, Objective("ode_error"))
    assert v.pick == "Close · 10 steps"
    assert "not distinguishable from the best" in v.reasons[0] and "Best · 40 steps" in v.reasons[0]


def test_constraints_exclude_and_are_reported():
    results = _cells({("A", 10): ([0.5] * 4, [0.2] * 4), ("B", 20): ([1.0] * 4, [0.01] * 4)})
    v = _decide(results, resolve({"constraints": {"alignment": ">= 0.95"}}, [], False))
    assert v.pick == "B · 20 steps"
    assert any("miss alignment ≥ 0.95" in e for e in v.excluded)
    assert any(r.startswith("meets alignment ≥ 0.95") for r in v.reasons)
    none = _decide(results, resolve({"objective": "time", "constraints": {"alignment": "> 0.999"}}, [], False))
    assert none.pick is None and math.isnan(none.time_s)


def test_stochastic_samplers_are_not_ranked_on_the_ode_distance():
    results = _cells(
        {("Euler a", 10): ([0.1] * 4, [0.0] * 4), ("Euler", 10): ([0.2] * 4, [0.05] * 4)}, stochastic=("Euler a",)
    )
    v = _decide(results, Objective("ode_error"))
    assert v.pick == "Euler · 10 steps" and any("stochastic" in e for e in v.excluded)


def test_one_verdict_per_model():
    a = _cells({("A", 10): ([0.5] * 4, [0.1] * 4), ("B", 10): ([1.0] * 4, [0.01] * 4)}, model="fast")
    b = _cells({("A", 10): ([0.5] * 4, [0.01] * 4), ("B", 10): ([1.0] * 4, [0.1] * 4)}, model="slow")
    results = pd.concat([a, b], ignore_index=True)
    summary = summarise(results, AXES)
    found = {
        v.slice: v.pick
        for v in verdicts(summary, Objective("ode_error"), collect_samples(results, AXES, ["ode_error"]))
    }
    assert found == {"fast": "B · 10 steps", "slow": "A · 10 steps"}


def test_objective_setting_parse_and_defaults():
    assert resolve(None, ["alignment", "ode_error"], False).metric == "ode_error"
    assert resolve(None, ["clip_score", "ref_rmse"], True).metric == "ref_rmse"  # random weights: no CLIP
    assert resolve(None, ["clip_score"], False).metric == "clip_score"
    assert resolve(None, [], False).metric is None
    assert resolve({"objective": "alignment"}, ["ode_error"], False).source == "benchmark file"
    for bad, message in (
        ({"objective": "speed"}, "unknown objective"),
        ({"constraints": {"alignment": "about 1"}}, "must read like"),
        ({"constraints": {"beauty": ">= 1"}}, "unknown metric"),
        ({"goal": "x"}, "unknown key"),
    ):
        with pytest.raises(ValueError, match=message):
            parse(bad)
