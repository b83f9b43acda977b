"""bench.check pieces on their own: the rank test against brute force, tolerances, the gate's layers,
the per-cell checks' directions, environment softening, markdown escaping."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from bench.check.baseline import CellRecord, Snapshot
from bench.check.compare import compare
from bench.check.markdown import escape
from bench.check.stats import EXACT_MAX, midranks, min_p_value, p_greater
from bench.check.tolerances import DEFAULTS, build_gate, nest, parse_section, parse_tolerance
from bench.errors import UserError


def brute_p(current: list[float], baseline: list[float]) -> float:
    """P(rank-sum of a random split >= observed), by listing every split (independent of stats.py)."""
    pooled = current + baseline
    ordered = sorted(pooled)

    def rank(v: float) -> float:  # average 1-based position among equal values
        first = ordered.index(v)
        return first + (ordered.count(v) + 1) / 2

    ranks = [rank(v) for v in pooled]
    observed = sum(ranks[: len(current)])
    splits = list(itertools.combinations(range(len(pooled)), len(current)))
    return sum(sum(ranks[i] for i in s) >= observed - 1e-9 for s in splits) / len(splits)


@pytest.mark.parametrize("seed", range(6))
def test_exact_p_matches_enumeration_with_and_without_ties(seed):
    rng = random.Random(seed)
    n1, n2 = rng.randint(2, 7), rng.randint(2, 7)
    pool = [rng.choice([0.1, 0.2, 0.3, 0.4]) if seed % 2 else rng.random() for _ in range(n1 + n2)]
    current, baseline = pool[:n1], pool[n1:]
    assert p_greater(current, baseline) == pytest.approx(brute_p(current, baseline), abs=1e-12)


def test_complete_separation_gives_the_smallest_p():
    assert p_greater([2, 3, 4, 5, 6], [0.1, 0.2, 0.3, 0.4, 0.5]) == pytest.approx(1 / math.comb(10, 5))
    assert min_p_value(5, 5) == pytest.approx(1 / 252)
    assert p_greater([0.1, 0.2, 0.3], [2, 3, 4]) == pytest.approx(1.0)


def test_normal_approximation_is_close_to_exact_beyond_the_exact_limit():
    rng = random.Random(7)
    n = EXACT_MAX // 2 + 2  # pooled size just past the exact limit
    current = [rng.gauss(0.3, 1) for _ in range(n)]
    baseline = [rng.gauss(0, 1) for _ in range(n)]
    approx = p_greater(current, baseline)
    # exact by Monte Carlo over random splits (independent of the approximation)
    pooled, observed = current + baseline, sum(midranks(current + baseline)[:n])
    hits = 0
    for _ in range(4000):
        order = rng.sample(range(2 * n), n)
        hits += sum(midranks(pooled)[i] for i in order) >= observed
    assert approx == pytest.approx(hits / 4000, abs=0.03)


def test_midranks_average_ties():
    assert midranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1]


@pytest.mark.parametrize("text, limit_at_2", [("10%", 0.2), ("0.02", 0.02), (0.5, 0.5), ("0%", 0.0)])
def test_tolerance_parsing(text, limit_at_2):
    assert parse_tolerance(text).limit(2.0) == pytest.approx(limit_at_2)


@pytest.mark.parametrize("off", ["off", "none", False, "OFF"])
def test_tolerance_off(off):
    assert parse_tolerance(off) is None


@pytest.mark.parametrize("bad", ["ten%", "-5%", "nan", [1], True, "1e999"])
def test_bad_tolerances_name_the_value(bad):
    with pytest.raises(ValueError, match="tolerance"):
        parse_tolerance(bad)


def _fail(path, message):
    return UserError(f"{'.'.join(map(str, path))}: {message}")


def test_section_flattens_and_nests_back():
    section = {"time": "off", "quality": {"default": "5%", "ode_error": 0.01}, "strict": True}
    flat = parse_section(section, _fail)
    assert flat == {"time": "off", "quality": "5%", "quality.ode_error": "0.01", "strict": True}
    assert nest(flat) == {"time": "off", "quality": {"default": "5%", "ode_error": "0.01"}, "strict": True}


@pytest.mark.parametrize(
    "section, where",
    [
        ({"tme": "5%"}, "tme: unknown key 'tme'. Did you mean 'time'"),
        ({"quality": {"ode_eror": "5%"}}, "quality.ode_eror: unknown"),
        ({"strict": "yes"}, "strict: expected true or false"),
        ({"alpha": 0.7}, "alpha: must be a number between 0 and 0.5"),
    ],
)
def test_section_errors_are_located(section, where):
    with pytest.raises(UserError, match=where.replace(".", r"\.").replace("(", r"\(")):
        parse_section(section, _fail)


def test_gate_layers_highest_first_with_sources():
    gate = build_gate(
        [
            ("cli", {"time": "20%"}),
            ("yaml", {"time": "5%", "drift": "0.01"}),
            ("baseline", {"drift": "1", "memory": "off"}),
        ]
    )
    assert gate.time.limit(1.0) == pytest.approx(0.2) and gate.sources["time"] == "cli"
    assert gate.drift.limit(1.0) == pytest.approx(0.01) and gate.sources["drift"] == "yaml"
    assert gate.memory is None and gate.sources["memory"] == "baseline"
    assert str(gate.quality_default) == DEFAULTS["quality"] and gate.sources["quality"] == "default"


def _cell(cid="c1", steps=10, seed=1, prompt="a red circle", **changes) -> CellRecord:
    values = dict(
        cell_id=cid,
        params={
            "sampler": "Euler",
            "sampler_id": "k:euler/normal",
            "steps": steps,
            "seed": seed,
            "prompt": prompt,
            "stochastic": False,
        },
        status="ok",
        nfe=10,
        batch_size=2,
        sample_s_repeats=(1.0, 1.01, 0.99, 1.02, 0.98),
        peak_mem_bytes=1000,
        peak_mem_kind="cuda_max_allocated",
        metrics={"ode_error": 0.1, "alignment": 0.8, "fidelity": 1.2},
        fingerprint=(0.5, -0.5, 0.25, 0.0),
    )
    values.update(changes)
    return CellRecord(**values)


def _snap(cells, env=None) -> Snapshot:
    env = {"device": "cuda", "packages": {"torch": "2.1"}} if env is None else env
    return Snapshot("t", None, env, {}, {}, {c.cell_id: c for c in cells}, "x")


def _kinds(base, cur, env_b=None, env_c=None, **gate):
    report = compare(_snap(base, env_b), _snap(cur, env_c), build_gate([("test", gate)]))
    return {(f.check, f.kind) for f in report.findings}, report


@pytest.mark.parametrize(
    "metrics, expected",
    [
        ({"ode_error": 0.2}, ("quality:ode_error", "regression")),  # lower is better: up is worse
        ({"ode_error": 0.05}, ("quality:ode_error", "improvement")),
        ({"alignment": 0.6}, ("quality:alignment", "regression")),  # higher is better: down is worse
        ({"alignment": 0.95}, ("quality:alignment", "improvement")),
        ({"fidelity": 0.7}, ("quality:fidelity", "regression")),  # closest to one: 0.7 is further
        ({"fidelity": 1.0}, ("quality:fidelity", "improvement")),
    ],
)
def test_quality_is_direction_aware(metrics, expected):
    base = _cell()
    found, _ = _kinds([base], [_cell(metrics={**base.metrics, **metrics})])
    assert found == {expected}


def test_per_metric_tolerance_overrides_the_default():
    base = _cell()
    cur = _cell(metrics={**base.metrics, "ode_error": 0.2})
    found, _ = _kinds([base], [cur], **{"quality.ode_error": "2"})
    assert found == set()


def test_nfe_drift_memory_status_missing_new():
    base = [_cell("a"), _cell("b"), _cell("c"), _cell("d")]
    cur = [
        _cell("a", nfe=12),
        _cell("b", fingerprint=(0.5, -0.5, 0.25, 0.01)),
        _cell("c", peak_mem_bytes=1200, status="failed", error="OOM"),
        _cell("e"),
    ]
    found, report = _kinds(base, cur)
    assert found == {
        ("nfe", "regression"),
        ("drift", "regression"),
        ("status", "regression"),
        ("cell", "missing"),
        ("cell", "new"),
    }
    assert report.exit_code == 1 and report.compared == 3


def test_time_needs_both_tolerance_and_evidence():
    base = _cell()
    slower = _cell(sample_s_repeats=(1.5, 1.52, 1.49, 1.51, 1.48))
    assert _kinds([base], [slower])[0] == {("time", "regression")}
    # +50% median but overlapping, noisy repeats: not evidence
    noisy = _cell(sample_s_repeats=(0.5, 1.5, 1.6, 0.97, 2.0))
    assert _kinds([base], [noisy])[0] == {("time", "warning")}
    # significant but within the tolerance
    assert _kinds([base], [_cell(sample_s_repeats=(1.05, 1.06, 1.04, 1.05, 1.07))])[0] == set()
    # a different machine: the failure becomes a warning, unless strict
    found, report = _kinds([base], [slower], env_c={"device": "cuda", "packages": {"torch": "2.5"}})
    assert found == {("time", "warning")} and report.environment[0].key == "packages.torch"
    found, _ = _kinds([base], [slower], env_c={"device": "cpu", "packages": {"torch": "2.1"}}, strict=True)
    assert found == {("time", "regression")}


FAST = (1.0, 1.01, 0.99, 1.02, 0.98)


def _times(factor: float) -> tuple[float, ...]:
    return tuple(factor * t for t in FAST)


def test_time_pools_replicate_batches_so_one_noisy_batch_is_not_a_regression():
    """Cells differing only by prompt or seed do the same work: their batches together show the noise."""
    base = [_cell(f"c{i}", seed=i % 2, prompt=f"p{i // 2}", sample_s_repeats=_times(1 + i / 100)) for i in range(4)]
    one_batch_slow = [
        _cell(
            c.cell_id,
            seed=c.params["seed"],
            prompt=c.params["prompt"],
            sample_s_repeats=_times(2.0) if c.cell_id == "c0" else c.sample_s_repeats,
        )
        for c in base
    ]
    assert _kinds(base, one_batch_slow)[0] == set()  # median unchanged: not even a warning
    all_slow = [
        _cell(
            c.cell_id,
            seed=c.params["seed"],
            prompt=c.params["prompt"],
            sample_s_repeats=tuple(1.5 * t for t in c.sample_s_repeats),
        )
        for c in base
    ]
    found, report = _kinds(base, all_slow)
    assert found == {("time", "regression")}
    (regression,) = report.findings
    assert set(regression.cells) == {"c0", "c1", "c2", "c3"} and regression.change == "+50.0%"


def test_normalise_removes_a_uniform_machine_factor_but_not_one_slow_sampler():
    base = [_cell(c, steps=s) for c, s in zip("abcd", (5, 10, 20, 40))]
    twice = [_cell(c, steps=s, sample_s_repeats=_times(2)) for c, s in zip("abc", (5, 10, 20))]
    one_more = _cell("d", steps=40, sample_s_repeats=_times(3))
    assert _kinds(base, twice + [one_more])[0] == {("time", "regression")}
    found, report = _kinds(base, twice + [one_more], normalise=True)
    assert report.factor == pytest.approx(2.0, rel=0.02)
    assert [f.cell_ids for f in report.findings if f.kind == "regression"] == [("d",)]
    with pytest.raises(UserError, match="--normalise needs at least 3 workloads"):
        _kinds(base[:2], twice[:2], normalise=True)


def test_process_wide_memory_is_a_warning_unless_strict():
    base = _cell(peak_mem_kind="cpu_peak_rss_process")
    cur = _cell(peak_mem_kind="cpu_peak_rss_process", peak_mem_bytes=2000)
    assert _kinds([base], [cur])[0] == {("memory", "warning")}
    assert _kinds([base], [cur], strict=True)[0] == {("memory", "regression")}


def test_markdown_escape_neutralises_tables_and_html():
    text = escape("a | b <script>alert(1)</script>\n*x*")
    assert "|" not in text.replace("\\|", "") and "<" not in text.replace("\\<", "") and "\n" not in text
