"""samplerbench: benchmark and compare diffusion samplers (time, memory, quality)."""

from __future__ import annotations

__all__ = ["__version__", "load_results"]


def __getattr__(name: str):
    """`bench.__version__`, looked up on first use: importing `bench` (every CLI start) stays instant."""
    if name != "__version__":
        raise AttributeError(f"module 'bench' has no attribute {name!r}")
    try:
        from importlib.metadata import version

        return version("samplerbench")
    except Exception:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


def load_results(run_dir):
    """The cells of a run directory as a pandas DataFrame (one row per cell, one column per metric)."""
    from bench.store import load_results as _load

    return _load(run_dir)
