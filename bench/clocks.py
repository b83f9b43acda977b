"""Honest clocks: CUDA synchronised around every timed stage; peak memory per cell."""

from __future__ import annotations

import resource
import sys
import time
from contextlib import contextmanager
from typing import Iterator

import torch


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@contextmanager
def stage(device: torch.device, into: list[float]) -> Iterator[None]:
    """Time the block (wall clock, device synchronised before and after) and append the seconds."""
    synchronize(device)
    start = time.perf_counter()
    yield
    synchronize(device)
    into.append(time.perf_counter() - start)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict[str, int | str | None]:
    """Peak memory since the reset: CUDA max allocated and reserved, else the process's peak RSS."""
    if device.type == "cuda":
        return {
            "peak_mem_bytes": int(torch.cuda.max_memory_allocated(device)),
            "peak_mem_reserved_bytes": int(torch.cuda.max_memory_reserved(device)),
            "peak_mem_kind": "cuda_max_allocated",
        }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "peak_mem_bytes": int(peak if sys.platform == "darwin" else peak * 1024),
        "peak_mem_reserved_bytes": None,
        "peak_mem_kind": "cpu_peak_rss_process",
    }
