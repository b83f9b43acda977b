"""samplerbench: benchmark and compare diffusion samplers (time, memory, quality)."""
from __future__ import annotations

__all__ = ["__version__", "load_results"]

try:
    from importlib.metadata import version as _version

    __version__ = _version("samplerbench")
except Exception:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"


def load_results(run_dir):
    """The cells of a run directory as a pandas DataFrame (one row per cell, one column per metric)."""
    from bench.store import load_results as _load

    return _load(run_dir)
