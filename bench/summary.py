"""The compact table printed at the end of a run: sampler x steps, seconds per image and NFE.

Rows are split by every other axis the run varied (model, size, CFG...), so two models or two CFG
scales never share a line.
"""

from __future__ import annotations

from typing import Any


def summary_table(frame: Any) -> str:
    """Median s/image (and NFE) per sampler and step count, over the run's successful cells."""
    import pandas as pd

    from bench.aggregate import other_axes

    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        return "no successful cells"
    split = [c for c in other_axes() if c in ok.columns and ok[c].nunique(dropna=False) > 1]
    rows = [*split, "sampler"]
    table = ok.groupby([*rows, "steps"], sort=False).agg(s=("total_s", "median"), nfe=("nfe", "median"))
    cells = table.apply(lambda r: f"{r['s']:.4f}s {int(r['nfe'])}", axis=1).unstack("steps")
    order = (
        list(dict.fromkeys(map(tuple, ok[rows].itertuples(index=False))))
        if split
        else list(dict.fromkeys(ok["sampler"]))
    )
    cells = cells.reindex(order).fillna("-")
    cells = cells[sorted(cells.columns)]
    cells.columns = [f"{c} steps" for c in cells.columns]
    cells.index.names = [*split, "s/image NFE"] if split else ["s/image NFE"]
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_colwidth", 40):
        return cells.to_string()
