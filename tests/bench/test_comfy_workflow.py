"""ComfyUI API-format workflows, validated against the built-in nodes as ComfyUI documents them."""

from __future__ import annotations

import json

import pytest
from spine_helpers import write_config

from bench.comfy_workflow import (
    cell_workflow,
    cell_workflow_or_reason,
    checkpoint_name,
    comfy_pairs,
    comfy_sampler,
)
from bench.config import load_config
from bench.matrix import expand
from samplers.catalogue import SAMPLERS, resolve

# ComfyUI's documented built-in nodes: required inputs (name -> type; a link type in capitals) and outputs
NODES: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "CheckpointLoaderSimple": ({"ckpt_name": "str"}, ("MODEL", "CLIP", "VAE")),
    "CLIPSetLastLayer": ({"clip": "CLIP", "stop_at_clip_layer": "int"}, ("CLIP",)),
    "CLIPTextEncode": ({"text": "str", "clip": "CLIP"}, ("CONDITIONING",)),
    "EmptyLatentImage": ({"width": "int", "height": "int", "batch_size": "int"}, ("LATENT",)),
    "KSampler": (
        {
            "model": "MODEL",
            "seed": "int",
            "steps": "int",
            "cfg": "float",
            "sampler_name": "str",
            "scheduler": "str",
            "positive": "CONDITIONING",
            "negative": "CONDITIONING",
            "latent_image": "LATENT",
            "denoise": "float",
        },
        ("LATENT",),
    ),
    "VAEDecode": ({"samples": "LATENT", "vae": "VAE"}, ("IMAGE",)),
    "SaveImage": ({"images": "IMAGE", "filename_prefix": "str"}, ()),
}
# the KSampler menus as ComfyUI documents them: its 44 sampler_name and 9 scheduler values
SAMPLER_NAMES = {
    "euler",
    "euler_cfg_pp",
    "euler_ancestral",
    "euler_ancestral_cfg_pp",
    "heun",
    "heunpp2",
    "exp_heun_2_x0",
    "exp_heun_2_x0_sde",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpm_fast",
    "dpm_adaptive",
    "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp",
    "dpmpp_sde",
    "dpmpp_sde_gpu",
    "dpmpp_2m",
    "dpmpp_2m_cfg_pp",
    "dpmpp_2m_sde",
    "dpmpp_2m_sde_gpu",
    "dpmpp_2m_sde_heun",
    "dpmpp_2m_sde_heun_gpu",
    "dpmpp_3m_sde",
    "dpmpp_3m_sde_gpu",
    "ddpm",
    "lcm",
    "ipndm",
    "ipndm_v",
    "deis",
    "res_multistep",
    "res_multistep_cfg_pp",
    "res_multistep_ancestral",
    "res_multistep_ancestral_cfg_pp",
    "gradient_estimation",
    "gradient_estimation_cfg_pp",
    "er_sde",
    "seeds_2",
    "seeds_3",
    "sa_solver",
    "sa_solver_pece",
    "ddim",
    "uni_pc",
    "uni_pc_bh2",
}
SCHEDULERS = {
    "normal",
    "karras",
    "exponential",
    "sgm_uniform",
    "simple",
    "ddim_uniform",
    "beta",
    "linear_quadratic",
    "kl_optimal",
}
PY_TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "float": (int, float)}


def validate(graph: dict) -> None:
    """Every node a documented one with exactly its inputs, each link to an existing node's output of the type."""
    json.loads(json.dumps(graph))  # plain JSON
    for node_id, node in graph.items():
        inputs, _ = NODES[node["class_type"]]
        assert set(node["inputs"]) == set(inputs), node["class_type"]
        for name, kind in inputs.items():
            value = node["inputs"][name]
            if kind.isupper():
                source, index = value
                assert source in graph and source != node_id
                assert NODES[graph[source]["class_type"]][1][index] == kind, (node_id, name)
            else:
                assert isinstance(value, PY_TYPES[kind]) and not isinstance(value, bool), (node_id, name)


def _cells(tmp_path, **overrides):
    data = {
        "model": {"arch": "tiny", "weights": "random", "seed": 0},
        "prompts": ['a "cat", sitting: here'],
        "negative_prompt": "blurry",
        "seeds": [7],
        "steps": [12],
        "size": [64, 96],
        "clip_skip": [2],
        "samplers": ["DPM++ 2M Karras", "Euler a", "DDIM", "dpmpp_sde/beta"],
        **overrides,
    }
    return expand(load_config(write_config(tmp_path / "b.yaml", **data)))


def test_cell_workflow_is_the_documented_text_to_image_graph(tmp_path):
    cell = _cells(tmp_path)[0]
    graph = cell_workflow(cell)
    assert graph is not None
    validate(graph)
    by_class = {n["class_type"]: n["inputs"] for n in graph.values()}
    ks = by_class["KSampler"]
    assert (ks["seed"], ks["steps"], ks["cfg"], ks["denoise"]) == (7, 12, 7.0, 1.0)
    assert (ks["sampler_name"], ks["scheduler"]) == ("dpmpp_2m", "karras")
    assert by_class["EmptyLatentImage"] == {"width": 64, "height": 96, "batch_size": 1}
    assert by_class["CLIPSetLastLayer"]["stop_at_clip_layer"] == -2
    texts = {n["inputs"]["text"] for n in graph.values() if n["class_type"] == "CLIPTextEncode"}
    assert texts == {'a "cat", sitting: here', "blurry"}
    assert graph[ks["positive"][0]]["inputs"]["text"] == cell.prompt
    assert by_class["CheckpointLoaderSimple"]["ckpt_name"] == "tiny.safetensors"


def test_every_pair_is_on_the_ksampler_menus_and_every_sampler_gets_a_pair_or_a_reason():
    from samplers.menus import COMFY_SAMPLERS

    for sampler_name, scheduler in comfy_pairs().values():
        assert sampler_name in SAMPLER_NAMES and scheduler in SCHEDULERS
    with_pair = set()
    for spec in SAMPLERS:
        answer = comfy_sampler(spec)
        assert isinstance(answer, (tuple, str)) and answer
        if isinstance(answer, tuple):
            with_pair.add(spec.id)
            assert resolve("/".join(answer)).id == spec.id  # the pair runs this very sampler
    covered = {f"{n}/{s}" for n, why in COMFY_SAMPLERS.items() if why is None for s in SCHEDULERS}
    assert with_pair == {resolve(name).id for name in covered}  # every KSampler pair, once per sampler
    assert len(with_pair) == 336  # 387 pairs less ddim (= euler), the _gpu twins and dpm_fast/adaptive's ranges


@pytest.mark.parametrize(
    "name, pair",
    [
        ("DPM++ 2M Karras", ("dpmpp_2m", "karras")),
        ("Euler a", ("euler_ancestral", "normal")),
        ("dpmpp_sde/beta", ("dpmpp_sde", "beta")),
        ("DPM2 Karras", ("dpm_2", "karras")),
        ("dpm_fast/exponential", ("dpm_fast", "karras")),
        ("dpm_adaptive/simple", ("dpm_adaptive", "simple")),
        ("k:dpmpp_3m_sde/exponential", ("dpmpp_3m_sde", "exponential")),
        ("DPM++ 2M SDE Heun", ("dpmpp_2m_sde_heun", "exponential")),
        ("euler/linear_quadratic", ("euler", "linear_quadratic")),
        ("dpmpp_2m_sde_gpu/karras", ("dpmpp_2m_sde", "karras")),
        ("seeds_2/karras", ("seeds_2", "karras")),
        ("DDIM CFG++", ("euler_cfg_pp", "ddim_uniform")),
        ("uni_pc_bh2/kl_optimal", ("uni_pc_bh2", "kl_optimal")),
    ],
)
def test_comfy_pairs(name, pair):
    assert comfy_sampler(resolve(name)) == pair


@pytest.mark.parametrize(
    "name, why",
    [
        ("DDIM", "diffusers scheduler"),
        ("DPM fast", "eta"),
        ("DPM++ 3M SDE", "discard_next_to_last_sigma"),
        ("k:dpmpp_2m_sde/exponential?solver_type=heun&eta=0.5", "eta"),
        ("paper:seeds_2/karras?r=0.3", "r=0.3"),
        ("k:euler/normal?s_churn=1.0", "s_churn"),
        ("DPM++ 2M Polyexponential", "no sampler"),
        ("k:dpm_2/karras?discard_next_to_last_sigma=false", "discard"),
    ],
)
def test_samplers_comfyui_lacks_get_no_workflow_and_a_reason(name, why):
    answer = comfy_sampler(resolve(name))
    assert isinstance(answer, str) and why in answer


def test_no_workflow_for_the_analytic_model_or_sdxl(tmp_path):
    (analytic, *_) = expand(load_config(write_config(tmp_path / "a.yaml", samplers=["Euler"])))
    assert cell_workflow_or_reason(analytic)[0] is None
    xl = _cells(tmp_path, model={"arch": "tiny-xl", "weights": "random"})[0]
    graph, why = cell_workflow_or_reason(xl)
    assert graph is None and "SDXL" in why


def test_checkpoint_names():
    assert checkpoint_name("C:\\models\\v1-5-pruned.safetensors") == "v1-5-pruned.safetensors"
    assert checkpoint_name("/m/x.ckpt") == "x.ckpt" and checkpoint_name("org/model") == "model.safetensors"
