"""`bench samplers`, `bench agree`, and samplers that run image by image through the real runner."""

from __future__ import annotations

import subprocess
import sys

import pytest
from spine_helpers import write_config

import bench
import samplers
from bench.cli import main
from bench.config import load_config
from bench.runner import run

pytestmark = pytest.mark.usefixtures("one_thread")


def test_listing_names_every_sampler_without_torch():
    code = (
        "import sys; from bench.cli import main; rc = main(['samplers']);"
        "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    for spec in samplers.SAMPLERS:
        assert f"\n{spec.id} " in out.stdout
    assert out.stdout.count("not checked") == len(samplers.SAMPLERS)
    assert "DDIM                 -> diffusers:DDIM/leading  (WebUI-only" in out.stdout
    assert "names: DPM++ 2M Karras, dpmpp_2m/karras, DPM++ 2M," in out.stdout


def test_check_runs_the_listed_samplers(capsys):
    assert main(["samplers", "--grep", "dpmpp_2m/karras", "--check"]) == 0
    out = capsys.readouterr().out
    assert "k:dpmpp_2m/karras" in out and "ok (NFE 3)" in out and "1 samplers, 0 failed" in out


def test_check_reports_a_failing_sampler(capsys):
    # diffusers' UniPC bh1 with a last step to sigma 0 divides by an infinite B(h): NaN, said so
    samplers.resolve("UniPCMultistepScheduler", None, {"solver_type": "bh1"})
    from bench.commands.agree import analytic_tasks
    from bench.commands.samplers import check

    status = check(samplers.resolve("UniPCMultistep", None, {"solver_type": "bh1"}), analytic_tasks(8))
    assert status == "failed: non-finite output (NaN or inf)"


def test_describe_one_sampler(capsys):
    assert main(["samplers", "DPM++ 2M SDE Heun"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("k:dpmpp_2m_sde/exponential?solver_type=heun\n")
    assert "solver_type (str, default 'midpoint'; one of midpoint, heun" in out and "stochastic" in out


def test_unknown_name_exits_2_with_suggestions(capsys):
    assert main(["samplers", "Eulr a"]) == 2
    assert "Did you mean 'Euler a'" in capsys.readouterr().err


def test_bench_agree(capsys):
    assert main(["agree", "--size", "16", "--steps", "10"]) == 0
    out = capsys.readouterr().out
    assert "DPM++ 2M Karras" in out and "same algorithm; diffusers rounds timesteps" in out


@pytest.mark.slow  # end to end: runs in CI's full pass (-m slow)
def test_one_by_one_samplers_in_the_runner_record_each_images_nfe(tmp_path):
    def frame(batch_size: int):
        config = load_config(
            write_config(
                tmp_path / f"b{batch_size}.yaml",
                batch_size=batch_size,
                output=str(tmp_path / f"r{batch_size}"),
                prompts=["a blue square on yellow"],
                seeds=[1, 2, 3],
                steps=[3],
                samplers=[{"name": "DPM adaptive", "eta": 0}, {"name": "Euler", "s_churn": 1.0}],
            )
        )
        run(config, progress=False)
        return bench.load_results(config.output).set_index("cell_id").sort_index()

    alone, together = frame(1), frame(3)
    assert (together.status == "ok").all()
    assert list(alone.nfe) == list(together.nfe)  # each image's own evaluations, not the batch's sum
    assert list(alone.fingerprint) == list(together.fingerprint)
    adaptive = together[together.sampler_id == "k:dpm_adaptive/adaptive"]
    assert adaptive.nfe.min() > 3
    assert set(together[together.sampler_id == "k:euler/normal?s_churn=1.0"].nfe) == {3}


def test_benchmark_files_cover_the_a1111_menu_and_every_sampler():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    default = load_config(root / "benchmarks.yaml")
    labels = {
        "Euler",
        "Euler a",
        "LMS",
        "Heun",
        "DPM2",
        "DPM2 a",
        "DPM++ 2S a",
        "DPM++ 2M",
        "DPM++ SDE",
        "DPM++ 2M SDE",
        "DPM++ 3M SDE",
        "DPM fast",
        "DPM adaptive",
        "DDIM",
        "PLMS",
        "UniPC",
    }
    assert {c.spec.label for c in default.samplers} == labels
    assert default.steps == (5, 10, 20, 40) and len(default.prompts) == 4 and len(default.seeds) == 4
    everything = load_config(root / "examples" / "all-samplers.yaml")
    assert {c.spec.id for c in everything.samplers} == {s.id for s in samplers.SAMPLERS}
