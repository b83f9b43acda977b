"""Time: a regression must exceed the tolerance and the run's own noise (asv, pyperf).

Timing repeats of one batch run back to back, so their spread misses the slower swings of a busy machine
(measured on a shared 2-core CPU: the same batch 2-10x slower from one run to the next while its 5
repeats agreed within 10%). So cells are pooled into *workloads*: cells that differ only by prompt,
negative prompt or seed do the same work (same sampler, steps, size, CFG, batch size, model). Their
batches ran at different moments of the run, so the pooled repeats carry the run's between-batch noise;
a sampler that really got slower is slower in every batch. The test is a one-sided Mann-Whitney U on the
pooled repeats (each batch counted once: the cells of a batch share its repeats).
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.check.baseline import Snapshot
from bench.check.findings import Context, Finding, finding, pct
from bench.check.stats import median, min_p_value, p_greater
from bench.errors import UserError
from bench.record import same_work_columns


@dataclass(frozen=True)
class Workload:
    params: dict  # the parameters its cells share
    cells: tuple[str, ...]
    baseline: tuple[float, ...]  # pooled repeats, seconds per image
    current: tuple[float, ...]


def workloads(baseline: Snapshot, current: Snapshot) -> list[Workload]:
    """Cells timed on both sides with the same batch size, grouped by the work they do."""
    groups: dict[tuple, tuple[dict, list[str], dict, dict]] = {}
    same_work = same_work_columns()  # prompt, negative prompt, seed: cells differing only there are replicates
    for cid, base in baseline.cells.items():
        cur = current.cells.get(cid)
        if (
            cur is None
            or base.status != "ok"
            or cur.status != "ok"
            or not base.sample_s_repeats
            or not cur.sample_s_repeats
            or base.batch_size != cur.batch_size
        ):
            continue
        shared = {k: v for k, v in base.params.items() if k not in same_work}
        key = (tuple(sorted((k, repr(v)) for k, v in shared.items())), base.batch_size)
        params, cells, old, new = groups.setdefault(key, (shared, [], {}, {}))
        cells.append(cid)
        batch = (base.params.get("prompt"), base.params.get("negative_prompt"))  # + its repeats: one batch
        old[batch + (base.sample_s_repeats,)] = new[batch + (cur.sample_s_repeats,)] = None  # ordered sets
    return [
        Workload(params, tuple(cells), sum((b[-1] for b in old), ()), sum((b[-1] for b in new), ()))
        for params, cells, old, new in groups.values()
    ]


def machine_factor(groups: list[Workload]) -> float:
    """Median over workloads of current/baseline median time: how much slower this machine is.

    One sampler that regresses moves the median little; a machine that is uniformly slower moves it fully.
    """
    ratios = [median(w.current) / median(w.baseline) for w in groups if median(w.baseline) > 0]
    if len(ratios) < 3:
        raise UserError(
            f"--normalise needs at least 3 workloads (sampler x steps x size ...) timed in both "
            f"the baseline and the run with the same batch size; found {len(ratios)}"
        )
    return median(ratios)


def _judge(w: Workload, ctx: Context) -> Finding | None:
    tol = ctx.gate.time
    assert tol is not None  # time_findings judges only with a time tolerance
    old = [t * ctx.factor for t in w.baseline]
    new = list(w.current)
    m_old, m_new = median(old), median(new)
    slower = tol.exceeded(m_old, m_new - m_old)
    if not slower and not tol.exceeded(m_old, m_old - m_new):
        return None
    p = p_greater(new, old) if slower else p_greater(old, new)
    noise = f"p={p:.3g}, {len(new)} vs {len(old)} repeats"
    if ctx.factor != 1.0:
        noise += f", baseline x machine factor {ctx.factor:.3g}"
    text = dict(baseline=f"{m_old:.4g} s", current=f"{m_new:.4g} s", change=pct(m_new, m_old))
    cid = w.cells[0] if len(w.cells) == 1 else ""
    if p > ctx.gate.alpha:
        if not slower:
            return None
        floor = min_p_value(len(new), len(old))
        why = (
            f"too few repeats to tell from noise (best possible p={floor:.3g} > alpha "
            f"{ctx.gate.alpha:g}; use repeats: 5 or more)"
            if floor > ctx.gate.alpha
            else f"within noise ({noise}, alpha {ctx.gate.alpha:g})"
        )
        return Finding(
            "warning", "time", cid, w.params, **text, cells=w.cells, detail=f"slower by more than {tol}, but {why}"
        )
    if not slower:
        return Finding(
            "improvement",
            "time",
            cid,
            w.params,
            **text,
            cells=w.cells,
            detail=f"faster beyond {tol} and noise ({noise})",
        )
    if ctx.soften:
        return Finding(
            "warning",
            "time",
            cid,
            w.params,
            **text,
            cells=w.cells,
            detail=f"slower beyond {tol} and noise ({noise}), but the environment differs (--strict to fail)",
        )
    return Finding(
        "regression", "time", cid, w.params, **text, cells=w.cells, detail=f"slower beyond {tol} and noise ({noise})"
    )


def time_findings(baseline: Snapshot, current: Snapshot, groups: list[Workload], ctx: Context) -> list[Finding]:
    """One finding per workload that moved beyond the tolerance; warnings where batch sizes differ."""
    if ctx.gate.time is None:
        return []
    out = [f for w in groups if (f := _judge(w, ctx)) is not None]
    for cid, base in baseline.cells.items():
        cur = current.cells.get(cid)
        if cur is not None and base.status == cur.status == "ok" and base.batch_size != cur.batch_size:
            out.append(
                finding(
                    "warning",
                    "time",
                    cur,
                    baseline=f"batch {base.batch_size}",
                    current=f"batch {cur.batch_size}",
                    detail="batch size differs: seconds per image are not comparable",
                )
            )
    return out
