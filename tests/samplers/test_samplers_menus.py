"""samplers.menus: every ComfyUI, A1111 and diffusers menu entry resolves here or says why it does not."""

from __future__ import annotations

import pytest

import samplers
from samplers import menus
from samplers.schedule_names import K_SCHEDULES


@pytest.mark.parametrize("name", [n for n, why in menus.COMFY_SAMPLERS.items() if why is None])
@pytest.mark.parametrize("scheduler", menus.COMFY_SCHEDULERS)
def test_every_covered_comfy_pair_resolves(name, scheduler):
    spec = samplers.resolve(f"{name}/{scheduler}")
    full_range = scheduler in menus.RANGE_ONLY.get(name, ())  # the model's range: the default sampler
    assert spec.schedule == scheduler or (full_range and spec == samplers.resolve(f"{name}/karras"))


def test_comfy_names_run_what_they_say():
    assert samplers.resolve("ddim/karras").id == "k:euler/karras"  # ComfyUI's ddim is Euler
    for gpu in ("dpmpp_sde_gpu", "dpmpp_2m_sde_gpu", "dpmpp_3m_sde_gpu", "dpmpp_2m_sde_heun_gpu"):
        plain = gpu.removesuffix("_gpu")
        assert samplers.resolve(f"{gpu}/karras") == samplers.resolve(f"{plain}/karras")  # the device of the noise
    assert samplers.resolve("dpmpp_2m_sde_heun/karras").id == "k:dpmpp_2m_sde/karras?solver_type=heun"
    assert samplers.resolve("ipndm/simple").id == "paper:ipndm/simple"
    assert samplers.resolve("ddpm").id == "diffusers:DDPM/leading"  # bare: diffusers' class; ComfyUI's is a pair
    assert samplers.resolve("ddpm/normal").id == "paper:ddpm/normal"
    assert samplers.resolve("DDIM CFG++").id == "paper:euler_cfg_pp/ddim_uniform"


def test_the_tables_match_the_upstream_menus():
    assert len(menus.COMFY_SAMPLERS) == 44 and len(menus.COMFY_SCHEDULERS) == 9
    assert set(menus.COMFY_SCHEDULERS) <= set(K_SCHEDULES)
    assert len(menus.A1111_SAMPLERS) == 20


def test_coverage_counts_and_reasons():
    results = {(c.menu, c.kind): c for c in menus.coverage()}
    comfy = results[("ComfyUI", "samplers")]
    assert comfy.covered + len(comfy.missing) == 44 and all(comfy.missing.values())
    assert results[("ComfyUI", "schedulers")].covered == 9
    pairs = results[("ComfyUI", "pairs")]
    assert pairs.total == 44 * 9 and pairs.covered == comfy.covered * 9
    lines = menus.summary_lines()
    assert lines[0].startswith(f"ComfyUI: {comfy.covered}/44 samplers, 9/9 schedulers")
    assert "A1111: " in lines[0] and "diffusers: " in lines[0]
    for name in comfy.missing:
        assert any(f"'{name}'" in line for line in lines[1:])


def test_a_covered_entry_that_does_not_resolve_is_an_error(monkeypatch):
    monkeypatch.setitem(menus.COMFY_SAMPLERS, "no_such_sampler", None)
    with pytest.raises(samplers.UnknownName):
        menus.coverage()


def test_the_study_file_runs_each_covered_comfy_sampler_once():
    from pathlib import Path

    from bench.config import load_config

    config = load_config(Path(__file__).resolve().parents[2] / "examples" / "comfyui-menu.yaml")
    written = [c.written for c in config.samplers]
    assert written == menus.comfy_study_names()
    covered = {n for n, why in menus.COMFY_SAMPLERS.items() if why is None}
    assert {w.split("/")[0] for w in written} == covered - {"ddim", *(n for n in covered if n.endswith("_gpu"))}


def test_bench_samplers_starts_with_the_coverage(capsys):
    from bench.cli import main

    assert main(["samplers"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == menus.summary_lines()[0] and lines[0].startswith("ComfyUI: ")
    assert any("not covered, ComfyUI sampler 'heunpp2'" in line for line in lines[1:20])
