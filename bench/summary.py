"""The compact table printed at the end of a run: sampler x steps, seconds per image and NFE."""
from __future__ import annotations


def summary_table(frame) -> str:
    """Median s/image (and NFE) per sampler and step count, over the run's successful cells."""
    import pandas as pd

    ok = frame[frame["status"] == "ok"]
    if ok.empty:
        return "no successful cells"
    order = list(dict.fromkeys(ok["sampler"]))
    table = ok.groupby(["sampler", "steps"]).agg(s=("total_s", "median"), nfe=("nfe", "median"))
    cells = table.apply(lambda r: f"{r['s']:.4f}s {int(r['nfe'])}", axis=1).unstack("steps")
    cells = cells.reindex(order).fillna("-")
    cells.columns = [f"{c} steps" for c in cells.columns]
    cells.index.name = "s/image NFE"
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        return cells.to_string()
