"""A deliberate change to a sampler's maths makes `bench check` fail; an honest rerun passes.

The change is made at the registry level: the "k" family adapter in `samplers.FAMILIES` is wrapped so
that Euler's noise prediction is scaled by 1.01 (every other sampler untouched), and real runs of the
analytic model go through the whole CLI. Also: the benchmark's `check:` section reaches the run's meta,
and the committed CI benchmark and baseline agree.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """\
name: perturb
model: analytic
prompts: [a red circle, a blue square on yellow]
seeds: [1, 2]
samplers: [Euler, Euler a, Heun]
steps: [4]
size: [16, 16]
batch_size: 2
check:
  time: off
  memory: off
  quality: {default: 5%}
"""


def bench_run(config: Path, out: Path) -> None:
    assert main(["run", str(config), "-o", str(out), "--no-progress", "--no-report"]) == 0


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("perturb")
    config = root / "bench.yaml"
    config.write_text(CONFIG)
    bench_run(config, root / "reference")
    assert main(["baseline", str(root / "reference"), "-o", str(root / "baseline.json")]) == 0
    return config, root / "baseline.json"


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_rerun_from_scratch_matches_the_baseline(recorded, tmp_path, capsys):
    config, baseline = recorded
    bench_run(config, tmp_path / "again")
    capsys.readouterr()
    assert main(["check", str(tmp_path / "again"), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "12 cell(s) compared" in out


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_perturbed_euler_fails_on_its_cells_only(recorded, tmp_path, monkeypatch, capsys):
    config, baseline = recorded
    import samplers.kdiffusion

    real = samplers.kdiffusion.sample

    def perturbed(spec, task):
        if spec.algorithm == "euler":
            eps = task.eps
            task = dataclasses.replace(task, eps=lambda x, t: eps(x, t) * 1.01)
        return real(spec, task)

    samplers.FAMILIES.replace("k", perturbed)
    try:
        bench_run(config, tmp_path / "perturbed")
    finally:
        samplers.FAMILIES.replace("k", real)
    junit = tmp_path / "junit.xml"
    capsys.readouterr()
    assert main(["check", str(tmp_path / "perturbed"), "--baseline", str(baseline), "--junit", str(junit)]) == 1
    out = capsys.readouterr().out
    regressions = out.split("REGRESSIONS")[1].split("\n\n")[0]
    lines = [line for line in regressions.splitlines()[2:] if line.strip()]
    assert all("Euler, 4 steps" in line for line in lines)  # Euler's cells only
    drift = [line for line in lines if line.startswith("drift")]
    assert len(drift) == 4  # 2 prompts x 2 seeds of Euler; quality metrics may flag them too
    assert "Heun" not in regressions and "Euler a" not in regressions
    assert junit.read_text().count("<failure") == 4


def test_check_section_is_saved_in_the_run_meta(recorded, tmp_path):
    _, baseline = recorded
    from bench.store import Store

    store = Store.open(Path(baseline).parent / "reference", create=False)
    try:
        assert store.meta()["check"] == {"time": "off", "memory": "off", "quality": "5%"}
    finally:
        store.close()
    assert json.loads(baseline.read_text())["tolerances"]["time"] == "off"


def test_check_section_errors_name_file_key_and_line(tmp_path):
    from bench.config import load_config

    bad = tmp_path / "bad.yaml"
    bad.write_text(CONFIG.replace("  memory: off\n", "  memory: lots\n"))
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    assert info.value.line == CONFIG.splitlines().index("  memory: off") + 1
    assert info.value.key == "check.memory" and "'10%'" in str(info.value)
    bad.write_text(CONFIG.replace("  memory: off\n", "  memroy: off\n"))
    with pytest.raises(ConfigError, match="Did you mean 'memory'"):
        load_config(bad)


def test_committed_ci_baseline_matches_the_ci_benchmark():
    """ci/baseline.json must hold exactly the cells of ci/benchmark.yaml, gated on NFE, drift, quality."""
    from bench.check import read_baseline
    from bench.config import load_config
    from bench.matrix import expand

    config = load_config(ROOT / "ci" / "benchmark.yaml")
    baseline = read_baseline(ROOT / "ci" / "baseline.json")
    assert set(baseline.cells) == {cell.id for cell in expand(config)}
    assert all(c.status == "ok" and c.nfe and c.fingerprint for c in baseline.cells.values())
    assert config.check["time"] == "off" and config.check["drift"] not in ("off", None)


@pytest.mark.slow
def test_ci_benchmark_passes_against_the_committed_baseline(tmp_path):
    """What .ci/run does (about 20 s)."""
    bench_run(ROOT / "ci" / "benchmark.yaml", tmp_path / "ci")
    assert main(["check", str(tmp_path / "ci"), "--baseline", str(ROOT / "ci" / "baseline.json")]) == 0
