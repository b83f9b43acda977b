"""What a result was measured on: packages, device, git (asv/pyperf-style metadata)."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("samplerbench", "torch", "k-diffusion", "diffusers", "transformers", "open-clip-torch", "numpy", "pandas")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_hash(where: Path) -> str | None:
    try:
        result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True, text=True, timeout=5
    ).stdout.strip()
    return result.stdout.strip() + ("-dirty" if dirty else "")


def nvidia_driver(index: int) -> str | None:
    """The NVIDIA driver version, from nvidia-smi (None where it is absent)."""
    try:
        out = subprocess.run(
            ["nvidia-smi", f"--id={index}", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def device_info(device: Any) -> dict[str, Any]:
    import torch

    info: dict[str, Any] = {"device": str(device), "torch_threads": torch.get_num_threads()}
    if getattr(device, "type", str(device)) == "cuda" and torch.cuda.is_available():
        index = torch.device(device).index or 0
        info.update(
            device_name=torch.cuda.get_device_name(index),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            driver=nvidia_driver(index),
        )
    else:
        info["device_name"] = platform.processor() or platform.machine()
    return info


def collect(device: Any, project_dir: Path) -> dict[str, Any]:
    """The environment of this process, recorded with every run."""
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
        "git": git_hash(project_dir),
        **device_info(device),
    }
