"""Sampler names: A1111 labels (old and 1.9+ split), ComfyUI pairs, diffusers classes, ids, options, errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

import samplers
from samplers.algorithms import Algorithm, Option, canonical_options
from samplers.registry import Registry

# A1111's old combined labels (before 1.9) -> what A1111 ran: function and schedule
A1111_COMBINED = {
    "Euler a": "k:euler_ancestral/normal",
    "Euler": "k:euler/normal",
    "LMS": "k:lms/normal",
    "Heun": "k:heun/normal",
    "DPM2": "k:dpm_2/karras",
    "DPM2 a": "k:dpm_2_ancestral/karras",
    "DPM++ 2S a": "k:dpmpp_2s_ancestral/karras",
    "DPM++ 2M": "k:dpmpp_2m/karras",
    "DPM++ SDE": "k:dpmpp_sde/karras",
    "DPM++ 2M SDE": "k:dpmpp_2m_sde/exponential",
    "DPM fast": "k:dpm_fast/exponential?eta=1.0",
    "DPM adaptive": "k:dpm_adaptive/adaptive?eta=1.0",
    "LMS Karras": "k:lms/karras",
    "DPM2 Karras": "k:dpm_2/karras",
    "DPM2 a Karras": "k:dpm_2_ancestral/karras",
    "DPM++ 2S a Karras": "k:dpmpp_2s_ancestral/karras",
    "DPM++ 2M Karras": "k:dpmpp_2m/karras",
    "DPM++ SDE Karras": "k:dpmpp_sde/karras",
    "DPM++ 2M SDE Karras": "k:dpmpp_2m_sde/karras",
    "DPM++ 2M SDE Exponential": "k:dpmpp_2m_sde/exponential",
    "DPM++ 2M SDE Heun": "k:dpmpp_2m_sde/exponential?solver_type=heun",
    "DPM++ 2M SDE Heun Karras": "k:dpmpp_2m_sde/karras?solver_type=heun",
    "DPM++ 2M SDE Heun Exponential": "k:dpmpp_2m_sde/exponential?solver_type=heun",
    "DPM++ 3M SDE": "k:dpmpp_3m_sde/exponential?discard_next_to_last_sigma=True",
    "DPM++ 3M SDE Karras": "k:dpmpp_3m_sde/karras?discard_next_to_last_sigma=True",
    "DPM++ 3M SDE Exponential": "k:dpmpp_3m_sde/exponential?discard_next_to_last_sigma=True",
    "Euler Karras": "k:euler/karras",
    "Euler a Karras": "k:euler_ancestral/karras",
    # WebUI-only samplers -> their diffusers equivalents
    "DDIM": "diffusers:DDIM/leading",
    "PLMS": "diffusers:PNDM/leading",
    "LCM": "diffusers:LCM/lcm",
    "UniPC": "diffusers:UniPCMultistep/linspace?final_sigmas_type=sigma_min&solver_order=3&solver_type=bh1",
    # A1111's internal names
    "k_euler_a": "k:euler_ancestral/normal",
    "k_dpmpp_2m": "k:dpmpp_2m/karras",
    "k_lms": "k:lms/normal",
}

# A1111 1.9+: sampler + "Schedule type"
A1111_SPLIT = [
    ("DPM++ 2M", "Karras", "k:dpmpp_2m/karras"),
    ("DPM++ 2M", "Uniform", "k:dpmpp_2m/normal"),
    ("DPM++ 2M", "Automatic", "k:dpmpp_2m/karras"),
    ("Euler", "Automatic", "k:euler/normal"),
    ("Euler a", "Exponential", "k:euler_ancestral/exponential"),
    ("DPM++ SDE", "SGM Uniform", "k:dpmpp_sde/sgm_uniform"),
    ("DPM++ 2M SDE", "Karras", "k:dpmpp_2m_sde/karras"),
    ("LMS", "Polyexponential", "k:lms/polyexponential"),
    ("DPM2", "Uniform", "k:dpm_2/normal"),
    ("DPM++ 3M SDE", "Karras", "k:dpmpp_3m_sde/karras?discard_next_to_last_sigma=True"),
    ("Heun", "KL Optimal", "k:heun/kl_optimal"),
    ("Euler", "Align Your Steps", "k:euler/align_your_steps"),
    ("Euler", "Simple", "k:euler/simple"),
    ("Euler", "Normal", "k:euler/normal"),
    ("Euler", "DDIM", "k:euler/ddim_uniform"),
    ("DPM fast", "Automatic", "k:dpm_fast/exponential?eta=1.0"),
]

COMFY_SAMPLERS = [
    "euler",
    "euler_ancestral",
    "heun",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpmpp_2s_ancestral",
    "dpmpp_sde",
    "dpmpp_sde_gpu",
    "dpmpp_2m",
    "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu",
    "dpmpp_3m_sde",
    "dpmpp_3m_sde_gpu",
]
COMFY_SCHEDULERS = ["normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta", "kl_optimal"]
COMFY_FUNCTION = {"dpmpp_sde_gpu": "dpmpp_sde", "dpmpp_2m_sde_gpu": "dpmpp_2m_sde", "dpmpp_3m_sde_gpu": "dpmpp_3m_sde"}


@pytest.mark.parametrize("label,expected", sorted(A1111_COMBINED.items()))
def test_a1111_labels_resolve_to_what_a1111_runs(label, expected):
    assert samplers.resolve(label).id == expected


@pytest.mark.parametrize("name,schedule,expected", A1111_SPLIT)
def test_a1111_split_sampler_and_schedule_type(name, schedule, expected):
    assert samplers.resolve(name, schedule).id == expected


@pytest.mark.parametrize("sampler", COMFY_SAMPLERS)
@pytest.mark.parametrize("scheduler", COMFY_SCHEDULERS)
def test_comfyui_pairs(sampler, scheduler):
    spec = samplers.resolve(f"{sampler}/{scheduler}")
    assert (spec.family, spec.algorithm, spec.schedule) == ("k", COMFY_FUNCTION.get(sampler, sampler), scheduler)
    assert dict(spec.options).get("discard_next_to_last_sigma") is None  # ComfyUI's 3M SDE keeps every sigma


def test_comfyui_specials():
    assert samplers.resolve("ddim/karras").id == "k:euler/karras"  # ComfyUI's "ddim" is Euler
    assert samplers.resolve("dpm_fast/karras").id == "k:dpm_fast/exponential"  # eta 0, the model's sigma range
    assert samplers.resolve("dpm_adaptive/normal").id == "k:dpm_adaptive/adaptive"
    assert samplers.resolve("dpmpp_2m").id == "k:dpmpp_2m/karras"


@pytest.mark.parametrize(
    "written,options,expected",
    [
        ("DPMSolverMultistepScheduler", {}, "diffusers:DPMSolverMultistep/linspace"),
        ("DPMSolverMultistepScheduler", {"use_karras_sigmas": True}, "diffusers:DPMSolverMultistep/karras"),
        (
            "DPMSolverMultistepScheduler",
            {"use_karras_sigmas": True, "algorithm_type": "sde-dpmsolver++"},
            "diffusers:DPMSolverMultistep/karras?algorithm_type=sde-dpmsolver++",
        ),
        ("EulerDiscreteScheduler", {"timestep_spacing": "trailing"}, "diffusers:EulerDiscrete/trailing"),
        ("DDIMScheduler", {"eta": 0.0}, "diffusers:DDIM/leading"),
        ("DDIM", {"eta": 1}, "diffusers:DDIM/leading?eta=1.0"),
        ("LMSDiscreteScheduler", {"use_beta_sigmas": True}, "diffusers:LMSDiscrete/beta_sigma"),
        ("UniPCMultistepScheduler/karras", {}, "diffusers:UniPCMultistep/karras"),
    ],
)
def test_diffusers_class_names_with_options(written, options, expected):
    assert samplers.resolve(written, None, options).id == expected


def test_every_id_round_trips_and_every_alias_names_its_sampler():
    for spec in samplers.SAMPLERS:
        assert samplers.resolve(spec.id) == spec
        for alias in samplers.SAMPLERS.aliases_of(spec.id):
            assert samplers.resolve(alias).id == spec.id, alias


def test_options_are_typed_checked_and_defaults_dropped():
    assert samplers.resolve("Euler a", None, {"eta": 1}).id == "k:euler_ancestral/normal"  # 1 == default 1.0
    half = samplers.resolve("Euler a", None, {"eta": 0.5})
    assert half.id == "k:euler_ancestral/normal?eta=0.5" and half.stochastic
    assert not samplers.resolve("Euler a", None, {"eta": 0}).stochastic
    assert samplers.resolve("Euler", None, {"s_churn": 1.0}).stochastic
    assert samplers.resolve("k:euler/karras?s_churn=1.0").id == "k:euler/karras?s_churn=1.0"
    with pytest.raises(samplers.BadOption, match="unknown option 'etaa'.*Did you mean 'eta'"):
        samplers.resolve("Euler a", None, {"etaa": 1})
    with pytest.raises(samplers.BadOption, match="must be one of 'midpoint', 'heun'"):
        samplers.resolve("DPM++ 2M SDE", None, {"solver_type": "rk4"})
    with pytest.raises(samplers.BadOption, match="must be a number"):
        samplers.resolve("Euler a", None, {"eta": "high"})
    with pytest.raises(samplers.BadOption, match="must be true or false"):
        samplers.resolve("DPM2", None, {"discard_next_to_last_sigma": "yes"})


def test_schedule_errors_name_what_is_allowed():
    with pytest.raises(samplers.UnknownName, match="Did you mean 'Karras'"):
        samplers.resolve("DPM++ 2M", "Kraras")
    with pytest.raises(samplers.UnknownName, match="does not run on schedule 'Karras'.*exponential"):
        samplers.resolve("DPM fast", "Karras")
    with pytest.raises(samplers.BadOption, match="already names schedule 'karras'"):
        samplers.resolve("DPM++ 2M Karras", "Exponential")
    with pytest.raises(samplers.BadOption, match="each choose the schedule"):
        samplers.resolve("EulerDiscreteScheduler", "karras", {"use_karras_sigmas": True})


def test_unknown_name_gives_nearest_matches():
    with pytest.raises(samplers.UnknownName) as info:
        samplers.resolve("Eulr a")
    assert "Euler a" in info.value.suggestions
    assert "Did you mean 'Euler a'" in str(info.value)
    with pytest.raises(samplers.UnknownName, match="DPM\\+\\+ 2M"):
        samplers.resolve("DPM++ 2N Karras")


def test_registry_rejects_collisions():
    reg: Registry[str] = Registry("sampler")
    reg.add("k:a/normal", "a", ("Name A", "shared"))
    with pytest.raises(ValueError, match="claimed by both"):
        reg.add("k:b/normal", "b", ("Shared",))  # case and spaces do not matter: the same name
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("k:a/normal", "a2")
    reg.add("k:c/normal", "c", ("c", "C"))  # one sampler may list a name twice


def test_canonical_options_reject_unknown_and_sort():
    algo = Algorithm("f", "F", ("normal",), {"b": Option(int, 1), "a": Option(bool, False)})
    assert canonical_options(algo, {"b": 2, "a": True}, "x") == (("a", True), ("b", 2))
    assert canonical_options(algo, {"b": 1}, "x") == ()
    with pytest.raises(samplers.BadOption, match="must be an integer"):
        canonical_options(algo, {"b": 1.5}, "x")


def test_a1111_automatic_schedules():
    automatic = {
        "DPM++ 2M": "karras",
        "DPM++ SDE": "karras",
        "DPM++ 2S a": "karras",
        "DPM2": "karras",
        "DPM2 a": "karras",
        "DPM++ 2M SDE": "exponential",
        "DPM++ 2M SDE Heun": "exponential",
        "DPM++ 3M SDE": "exponential",
        "Euler": "normal",
        "Euler a": "normal",
        "LMS": "normal",
        "Heun": "normal",
    }
    for label, schedule in automatic.items():
        assert samplers.resolve(label).schedule == schedule
        assert samplers.resolve(f"{label} Automatic").schedule == schedule


def test_discard_next_to_last_sigma_defaults():
    assert samplers.algorithm_of(samplers.resolve("DPM2")).options["discard_next_to_last_sigma"].default is True
    assert (
        samplers.algorithm_of(samplers.resolve("dpm_2_ancestral/karras")).options["discard_next_to_last_sigma"].default
        is True
    )
    assert dict(samplers.resolve("DPM++ 3M SDE").options)["discard_next_to_last_sigma"] is True
    assert (
        samplers.resolve("DPM2", None, {"discard_next_to_last_sigma": False}).id
        == "k:dpm_2/karras?discard_next_to_last_sigma=False"
    )


def test_import_and_resolution_do_not_import_torch():
    code = (
        "import sys, samplers; samplers.resolve('DPM++ 2M Karras'); samplers.resolve('DDIM');"
        "samplers.resolve('DPMSolverMultistepScheduler', None, {'use_karras_sigmas': True});"
        "print(len(samplers.SAMPLERS)); assert 'torch' not in sys.modules, 'torch imported'"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == len(samplers.SAMPLERS) > 200
