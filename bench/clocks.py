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


def peak_memory(device: torch.device) -> tuple[int, str]:
    """(bytes, kind): CUDA max allocated since the reset, else the process's peak RSS (process-wide)."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024), "cpu_peak_rss_process"
