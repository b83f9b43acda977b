"""A ComfyUI API-format workflow for a cell: the `prompt` text chunk ComfyUI writes into its own PNGs.

The graph is the default text-to-image one, with ComfyUI's built-in nodes and their documented inputs:
CheckpointLoaderSimple -> CLIPSetLastLayer (CLIP skip n is `stop_at_clip_layer: -n`) -> CLIPTextEncode
(positive, negative) ; EmptyLatentImage (width, height, batch 1) -> KSampler (seed, steps, cfg,
sampler_name, scheduler, denoise 1) -> VAEDecode -> SaveImage. A link is `[node id, output index]`.

Only Stable Diffusion 1.x/2.x checkpoints get one (SDXL's text conditioning takes more than these nodes
carry), and only samplers the KSampler menu has: `comfy_sampler` says why not for the others.
For k-diffusion's samplers (ComfyUI runs the same functions) the image is the cell's when the cell ran with
the `comfyui` noise convention (samplers/noise_conventions.py). The samplers implemented here from their
papers (family `paper`) are named by their ComfyUI sampler_name; whether ComfyUI's own code gives the same
pixels is not measured (its code is neither run nor read here).
"""

from __future__ import annotations

import functools
from pathlib import PurePath
from typing import Any


@functools.cache
def comfy_pairs() -> dict[str, tuple[str, str]]:
    """Canonical sampler id -> (sampler_name, scheduler): every pair of ComfyUI's KSampler menus
    (samplers.menus) read as `samplers.resolve` reads `name/scheduler`, so a pair is exactly what this
    harness runs for it. Where several pairs run one sampler, the menu's first wins: euler before ddim (its
    ddim is Euler), plain names before their `_gpu` twins (only the device of their noise differs), and
    karras before the other full-range schedulers of dpm_fast / dpm_adaptive."""
    from samplers.catalogue import resolve
    from samplers.menus import COMFY_SAMPLERS, COMFY_SCHEDULERS

    schedulers = sorted(COMFY_SCHEDULERS, key=lambda s: s != "karras")
    pairs: dict[str, tuple[str, str]] = {}
    for name, why_not in COMFY_SAMPLERS.items():
        if why_not is None:
            for scheduler in schedulers:
                pairs.setdefault(resolve(f"{name}/{scheduler}").id, (name, scheduler))
    return pairs


def comfy_sampler(spec) -> tuple[str, str] | str:
    """(sampler_name, scheduler) of a registered sampler in ComfyUI's KSampler, or why it has none."""
    if spec.family == "diffusers":
        return (
            f"{spec.id} is a diffusers scheduler; ComfyUI's KSampler runs k-diffusion-style samplers only "
            "(its ddim is Euler)"
        )
    pair = comfy_pairs().get(spec.id)
    if pair is not None:
        return pair
    if spec.options:
        shown = ", ".join(f"{k}={v}" for k, v in spec.options)
        return f"{spec.id}: ComfyUI's KSampler has no input for {shown}"
    return f"{spec.id}: ComfyUI's KSampler has no sampler {spec.algorithm!r} on scheduler {spec.schedule!r}"


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
