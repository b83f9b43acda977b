"""The ComfyUI menu study's tables (docs/samplers.md) from a run of examples/comfyui-menu.yaml.

    bench run examples/comfyui-menu.yaml -o RUN_DIR && python perf/comfyui_menu.py RUN_DIR [--steps 20]

Prints, in Markdown: the Pareto set of ode_error against NFE over every deterministic (pair, steps) point,
and the ode_error of every sampler_name x scheduler at one step count (geometric mean over seeds; stochastic
samplers marked *: their distance to the ODE solution measures their noise, not their accuracy).
"""

from __future__ import annotations

import argparse
import math
import sys


def table(run_dir: str):
    """One row per (written pair, steps): sampler_name, scheduler, NFE, geometric-mean ode_error, stochastic."""
    from bench import load_results

    frame = load_results(run_dir)
    frame = frame[frame["status"] == "ok"]
    rows = (
        frame.assign(log_err=frame["ode_error"].map(lambda v: math.log(max(v, 1e-300))))
        .groupby(["sampler", "steps"], sort=False)
        .agg(nfe=("nfe", "mean"), log_err=("log_err", "mean"), stochastic=("stochastic", "first"))
        .reset_index()
    )
    rows["ode_error"] = rows["log_err"].map(math.exp)
    rows[["sampler_name", "scheduler"]] = rows["sampler"].str.split("/", n=1, expand=True)
    return rows.drop(columns="log_err")


def pareto(rows):
    """Deterministic points no other point beats on both NFE and ode_error, cheapest first."""
    det = rows[~rows["stochastic"].astype(bool)].sort_values(["nfe", "ode_error"])
    keep, best = [], math.inf
    for index, err in det["ode_error"].items():
        if err < best:
            keep.append(index)
            best = err
    return det.loc[keep]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)
    rows = table(args.run_dir)
    print("| NFE | pair | steps | ode_error |\n| ---: | --- | ---: | ---: |")
    for _, r in pareto(rows).iterrows():
        print(f"| {r['nfe']:g} | {r['sampler']} | {r['steps']} | {r['ode_error']:.2e} |")
    at = rows[rows["steps"] == args.steps]
    schedulers = list(dict.fromkeys(at["scheduler"]))
    print(f"\node_error at {args.steps} steps (NFE in brackets; * stochastic)\n")
    print("| sampler_name | NFE | " + " | ".join(schedulers) + " |")
    print("| --- | ---: |" + " ---: |" * len(schedulers))
    for name, part in at.groupby("sampler_name", sort=False):
        cells = {r["scheduler"]: f"{r['ode_error']:.1e}" for _, r in part.iterrows()}
        star = "*" if part["stochastic"].astype(bool).any() else ""
        print(
            f"| {name}{star} | {part['nfe'].median():g} | " + " | ".join(cells.get(s, "-") for s in schedulers) + " |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
