"""Reports of a benchmark run: a self-contained HTML page (verdict, grid explorer, charts), X/Y grids, comparisons.

Receives plain data (a results DataFrame, a metadata dict, the run directory) and never imports
`bench`. Importing this package is cheap: matplotlib, PIL and Jinja2 load only when a report is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReportError", "build_report"]


class ReportError(ValueError):
    """The results cannot be reported (empty run, columns missing); the message says which."""


def build_report(results: pd.DataFrame, meta: dict, run_dir: Path, **options) -> Path:
    """Write run_dir/report.html (+ charts/) and return its path; see reports.build."""
    from reports.build import build_report as build

    return build(results, meta, run_dir, **options)
