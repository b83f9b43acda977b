"""The compute environment of a diffusers model, recorded with every result (GPU, CUDA, cuDNN, attention).

A time measured on an H100 with flash attention says nothing about a T4 with the math kernel: the store
keeps this next to the numbers and `bench check` warns when two runs differ here.
"""

from __future__ import annotations

from typing import Any

import torch

#: torch's SDPA kernels, in the order its dispatcher prefers them on CUDA
SDPA_BACKENDS: dict[str, tuple[str, str]] = {
    "flash": ("flash_sdp_enabled", "can_use_flash_attention"),
    "mem_efficient": ("mem_efficient_sdp_enabled", "can_use_efficient_attention"),
    "cudnn": ("cudnn_sdp_enabled", "can_use_cudnn_attention"),
    "math": ("math_sdp_enabled", ""),
}


def library_versions() -> dict[str, str]:
    import diffusers
    import transformers

    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "transformers": transformers.__version__}


def cuda_environment(device: torch.device, dtype: torch.dtype, head_dim: int) -> dict[str, Any]:
    """GPU name, CUDA / cuDNN versions and the SDPA kernel an SD attention of this dtype would use."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    props = torch.cuda.get_device_properties(index)
    enabled = {name: bool(getattr(torch.backends.cuda, flag)()) for name, (flag, _) in SDPA_BACKENDS.items()}
    return {
        "gpu": props.name,
        "gpu_memory_gib": round(props.total_memory / 2**30, 1),
        "compute_capability": f"{props.major}.{props.minor}",
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),
        "sdpa_enabled": enabled,
        "sdpa_backend": _sdpa_backend(device, dtype, head_dim, enabled),
    }


def _sdpa_backend(device: torch.device, dtype: torch.dtype, head_dim: int, enabled: dict[str, bool]) -> str:
    """The first enabled kernel that accepts a typical SD self-attention (seq 4096, 8 heads)."""
    try:
        q = torch.zeros(2, 8, 4096, head_dim, device=device, dtype=dtype)
        params = torch.backends.cuda.SDPAParams(q, q, q, None, 0.0, False, False)
        for name, (_, check) in SDPA_BACKENDS.items():
            if enabled[name] and (not check or getattr(torch.backends.cuda, check)(params, False)):
                return name
    except (AttributeError, TypeError, RuntimeError) as err:  # the SDPAParams signature changes across torch
        return f"unknown ({type(err).__name__})"
    return "none"
