"""A ComfyUI API-format workflow for a cell: the `prompt` text chunk ComfyUI writes into its own PNGs.

The graph is the default text-to-image one, with ComfyUI's built-in nodes and their documented inputs:
CheckpointLoaderSimple -> CLIPSetLastLayer (CLIP skip n is `stop_at_clip_layer: -n`) -> CLIPTextEncode
(positive, negative) ; EmptyLatentImage (width, height, batch 1) -> KSampler (seed, steps, cfg,
sampler_name, scheduler, denoise 1) -> VAEDecode -> SaveImage. A link is `[node id, output index]`.

Only Stable Diffusion 1.x/2.x checkpoints get one (SDXL's text conditioning takes more than these nodes
carry), and only samplers the KSampler menu has: `comfy_sampler` says why not for the others.
The image is the cell's when the cell ran with the `comfyui` noise convention (samplers/noise_conventions.py).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

#: our k-diffusion functions -> ComfyUI `sampler_name` (ComfyUI's own "ddim" is Euler: written as euler)
COMFY_SAMPLER_NAMES: dict[str, str] = {
    "euler": "euler",
    "euler_ancestral": "euler_ancestral",
    "heun": "heun",
    "dpm_2": "dpm_2",
    "dpm_2_ancestral": "dpm_2_ancestral",
    "lms": "lms",
    "dpm_fast": "dpm_fast",
    "dpm_adaptive": "dpm_adaptive",
    "dpmpp_2s_ancestral": "dpmpp_2s_ancestral",
    "dpmpp_sde": "dpmpp_sde",
    "dpmpp_2m": "dpmpp_2m",
    "dpmpp_2m_sde": "dpmpp_2m_sde",
    "dpmpp_3m_sde": "dpmpp_3m_sde",
}
#: our schedule ids -> ComfyUI `scheduler`
COMFY_SCHEDULERS: dict[str, str] = {
    s: s for s in ("normal", "karras", "exponential", "sgm_uniform", "simple", "ddim_uniform", "beta", "kl_optimal")
}
#: dpm_fast and dpm_adaptive take only a sigma range from the scheduler: karras spans the model's whole one
_RANGE_ONLY = {"exponential": "karras", "adaptive": "karras"}
#: options whose value in our id is what ComfyUI's KSampler runs (anything else has no KSampler input)
_COMFY_OPTIONS: dict[str, dict[str, Any]] = {
    "dpm_2": {"discard_next_to_last_sigma": True},
    "dpm_2_ancestral": {"discard_next_to_last_sigma": True},
}

#: canonical id -> (sampler_name, scheduler), e.g. "k:dpmpp_2m/karras" -> ("dpmpp_2m", "karras")
COMFY_PAIRS: dict[str, tuple[str, str]] = {
    **{
        f"k:{fn}/{sched}": (name, sched)
        for fn, name in COMFY_SAMPLER_NAMES.items()
        if fn not in ("dpm_fast", "dpm_adaptive")
        for sched in COMFY_SCHEDULERS
    },
    "k:dpm_fast/exponential": ("dpm_fast", "karras"),
    "k:dpm_adaptive/adaptive": ("dpm_adaptive", "karras"),
    # the schedules that hand them a narrower range (samplers.k_table.RANGE_SCHEDULES)
    **{
        f"k:{fn}/{s}": (fn, s)
        for fn in ("dpm_fast", "dpm_adaptive")
        for s in ("simple", "sgm_uniform", "ddim_uniform", "beta")
    },
}


def comfy_sampler(spec) -> tuple[str, str] | str:
    """(sampler_name, scheduler) of a registered sampler in ComfyUI's KSampler, or why it has none."""
    if spec.family != "k":
        return (
            f"{spec.id} is a diffusers scheduler; ComfyUI's KSampler runs k-diffusion-style samplers only "
            "(its ddim is Euler)"
        )
    extra = {k: v for k, v in spec.options if _COMFY_OPTIONS.get(spec.algorithm, {}).get(k) != v}
    if extra:
        shown = ", ".join(f"{k}={v}" for k, v in extra.items())
        return f"{spec.id}: ComfyUI's KSampler has no input for {shown}"
    base = f"{spec.family}:{spec.algorithm}/{spec.schedule}"
    if base not in COMFY_PAIRS:
        return f"{spec.id}: ComfyUI's KSampler has no sampler {spec.algorithm!r} on scheduler {spec.schedule!r}"
    return COMFY_PAIRS[base]


def checkpoint_name(model_label: str) -> str:
    """What ComfyUI's checkpoint loader lists: the file name under models/checkpoints."""
    name = PurePath(model_label.replace("\\", "/")).name
    return name if name.endswith((".safetensors", ".ckpt")) else f"{name}.safetensors"


def workflow(
    *,
    checkpoint: str,
    prompt: str,
    negative_prompt: str,
    seed: int,
    steps: int,
    cfg: float,
    sampler_name: str,
    scheduler: str,
    width: int,
    height: int,
    clip_skip: int,
    filename_prefix: str = "samplerbench",
) -> dict[str, dict[str, Any]]:
    """ComfyUI's API format: node id -> {class_type, inputs}; links are [node id, output index]."""
    return {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": checkpoint}},
        "2": {"class_type": "CLIPSetLastLayer", "inputs": {"clip": ["1", 1], "stop_at_clip_layer": -clip_skip}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["2", 0]}},
        "4": {"class_type": "CLIPTextEncode", "inputs": {"text": negative_prompt, "clip": ["2", 0]}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": width, "height": height, "batch_size": 1}},
        "6": {
            "class_type": "KSampler",
            "inputs": {
                "model": ["1", 0],
                "seed": seed,
                "steps": steps,
                "cfg": cfg,
                "sampler_name": sampler_name,
                "scheduler": scheduler,
                "positive": ["3", 0],
                "negative": ["4", 0],
                "latent_image": ["5", 0],
                "denoise": 1.0,
            },
        },
        "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["1", 2]}},
        "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0], "filename_prefix": filename_prefix}},
    }


def cell_workflow(cell, model=None) -> dict[str, dict[str, Any]] | None:
    """The workflow that makes a cell's image in ComfyUI, or None (analytic model, SDXL, no such sampler)."""
    return cell_workflow_or_reason(cell, model)[0]


def cell_workflow_or_reason(cell, model=None) -> tuple[dict[str, dict[str, Any]] | None, str]:
    """(workflow, "") or (None, why there is none)."""
    if cell.model.kind != "diffusers":
        return None, f"model {cell.model.label!r} is not a Stable Diffusion checkpoint"
    if getattr(model, "is_xl", False) or str(cell.model.options.get("arch", "")).endswith("xl"):
        return None, "SDXL: its size and pooled-text conditioning take more than this graph's nodes"
    pair = comfy_sampler(cell.sampler.spec)
    if isinstance(pair, str):
        return None, pair
    options = cell.model.options
    name = str(options.get("source") or options.get("arch") or cell.model.label)
    return workflow(
        checkpoint=checkpoint_name(name),
        prompt=cell.prompt,
        negative_prompt=cell.negative_prompt,
        seed=cell.seed,
        steps=cell.steps,
        cfg=cell.cfg_scale,
        sampler_name=pair[0],
        scheduler=pair[1],
        width=cell.width,
        height=cell.height,
        clip_skip=cell.clip_skip,
        filename_prefix=f"samplerbench_{cell.id}",
    ), ""
