"""Aggregates: bootstrap intervals of metric means and fitted orders, on frames built by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.aggregate import bootstrap_interval, convergence_orders, fit_order, grouping, metric_summary


def frame(rows: list[dict]) -> pd.DataFrame:
    base = {
        "status": "ok",
        "model": "analytic",
        "negative_prompt": "",
        "cfg_scale": 7.0,
        "width": 16,
        "height": 16,
        "clip_skip": 1,
    }
    return pd.DataFrame([{**base, **row} for row in rows])


def power_law(samplers: dict[str, float], steps=(10, 20, 40, 80), seeds=(1, 2, 3)) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for sampler, order in samplers.items():
        for prompt in ("a", "b"):
            for seed in seeds:
                scale = 3.0 * np.exp(rng.normal(0, 0.2))  # per image constant: orders must survive it
                for n in steps:
                    rows.append(
                        {"sampler": sampler, "prompt": prompt, "seed": seed, "steps": n, "ode_error": scale * n**-order}
                    )
    return frame(rows)


def test_bootstrap_interval_brackets_the_mean_and_is_seeded() -> None:
    values = np.random.default_rng(1).normal(5.0, 1.0, 40)
    low, high = bootstrap_interval(values, seed=3)
    assert low < values.mean() < high
    assert bootstrap_interval(values, seed=3) == (low, high)
    se = values.std(ddof=1) / np.sqrt(len(values))  # the normal-theory 95% half width is 1.96 se
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.25)
    assert all(np.isnan(bootstrap_interval([1.0])))


def test_summary_means_per_sampler_and_steps_over_prompts_and_seeds() -> None:
    data = power_law({"Euler": 1.0, "Heun": 2.0})
    data.loc[0, "status"] = "failed"  # a failed cell never counts
    summary = metric_summary(data, metrics=["ode_error"])
    assert list(summary.columns) == ["sampler", "steps", "metric", "n", "mean", "lo", "hi"]
    row = summary[(summary.sampler == "Heun") & (summary.steps == 20)].iloc[0]
    cells = data[(data.sampler == "Heun") & (data.steps == 20)]
    assert row.n == 6 and row["mean"] == pytest.approx(cells.ode_error.mean())
    assert row.lo <= row["mean"] <= row.hi
    first = summary[(summary.sampler == "Euler") & (summary.steps == 10)].iloc[0]
    assert first.n == 5


def test_summary_keeps_apart_axes_that_vary_and_counts_group_metrics_once() -> None:
    rows = []
    for cfg in (1.0, 7.0):
        for prompt, cov in (("a", 0.1), ("b", 0.5)):
            for seed in (1, 2, 3, 4):
                rows.append(
                    {
                        "sampler": "Euler",
                        "steps": 10,
                        "prompt": prompt,
                        "seed": seed,
                        "cfg_scale": cfg,
                        "coverage": cov + cfg / 100,
                        "fidelity": 1.0 + seed / 100,
                    }
                )
    data = frame(rows)
    assert grouping(data) == ["cfg_scale", "sampler", "steps"]
    summary = metric_summary(data)
    cov = summary[(summary.metric == "coverage") & (summary.cfg_scale == 7.0)].iloc[0]
    assert cov.n == 2 and cov["mean"] == pytest.approx(0.37)  # one value per group of seeds
    fid = summary[(summary.metric == "fidelity") & (summary.cfg_scale == 1.0)].iloc[0]
    assert fid.n == 8


def test_fit_order_recovers_a_power_law() -> None:
    steps = [10, 20, 40, 80]
    assert fit_order(steps, [5 * n**-1.5 for n in steps]) == pytest.approx(1.5)
    assert np.isnan(fit_order([10], [0.1]))


def test_convergence_orders_per_sampler() -> None:
    orders = convergence_orders(power_law({"Euler": 1.0, "Heun": 2.0, "DPM++ 2M": 2.0})).set_index("sampler")
    assert orders.loc["Euler", "order"] == pytest.approx(1.0, abs=1e-9)
    assert orders.loc["Heun", "order"] == pytest.approx(2.0, abs=1e-9)
    assert orders.loc["DPM++ 2M", "points"] == 4
    assert convergence_orders(power_law({"Euler": 1.0}), steps=[40, 80]).iloc[0].points == 2
