"""The stiff-regime warning (bench.setting_warnings.stiff_prompts): which prompts the analytic model's
guided ODE is stiff for, from the maths, checked against the reference solver going implicit."""

from __future__ import annotations

import pytest
from spine_helpers import write_config

from bench.config import load_config
from bench.metrics import ode_reference as ode
from bench.models.analytic import AnalyticModel
from bench.setting_warnings import setting_warnings, stiff_prompts
from bench.task import starting_noise

PROMPTS = ["a red circle", "a purple ring on white", "a red car", "a blue square"]


def _config(tmp_path, **overrides):
    return load_config(write_config(tmp_path / "b.yaml", prompts=PROMPTS, **overrides))


def test_prompts_off_the_unconditional_mixture_are_stiff_under_guidance(tmp_path):
    assert stiff_prompts(_config(tmp_path, cfg_scale=7.0)) == ["a purple ring on white", "a red car"]
    warning = [w for w in setting_warnings(_config(tmp_path, cfg_scale=7.0)) if "stiff regime" in w]
    assert len(warning) == 1 and "'a red car'" in warning[0] and "'a red circle'" not in warning[0]


def test_no_stiff_prompt_without_guidance_or_when_the_negative_prompt_is_the_concept(tmp_path):
    assert stiff_prompts(_config(tmp_path, cfg_scale=[1.0, 1.5])) == []
    only = load_config(write_config(tmp_path / "c.yaml", prompts=["a red circle"], negative_prompt="a red circle"))
    assert stiff_prompts(only) == []
    other = load_config(write_config(tmp_path / "d.yaml", prompts=["a red circle"], negative_prompt="a blue square"))
    assert stiff_prompts(other) == ["a red circle"]  # the negative prompt's mixture lacks the concept


@pytest.mark.slow  # two reference ODE solves
def test_the_flagged_prompt_is_the_one_the_reference_solver_finds_stiff(tmp_path):
    config = _config(tmp_path, cfg_scale=7.0)
    flagged = set(stiff_prompts(config))
    model, start = AnalyticModel(), starting_noise(1, (3, 8, 8)).reshape(1, -1)
    for prompt in ("a red circle", "a purple ring on white"):
        _, stats = ode.solve_once(ode.problem_for(model, prompt, "", 7.0, 8, 8), start, 1e-8)
        assert stats[0].stiff == (prompt in flagged), prompt
