"""Warnings printed before a run when a setting does nothing, or differs from the cells already stored.

None of these stops a run: each is a fact a reader of the results would otherwise learn too late
(identical images across a clip_skip axis, a prompt the analytic model renders as a hash pattern, a prompt
in its stiff regime, timings taken with other repeats or batch sizes, stored cells the current file no
longer asks for).
"""

from __future__ import annotations

from collections.abc import Iterable


def _analytic(config) -> bool:
    return any(model.kind == "analytic" for model in config.models)


def setting_warnings(config) -> list[str]:
    """Settings that change nothing on the analytic model."""
    out: list[str] = []
    if not _analytic(config):
        return out
    if any(skip != 1 for skip in config.clip_skips):
        out.append(
            "clip_skip does nothing on the analytic model (it has no text encoder): its cells differ "
            "only in their ids, and their images are identical"
        )
    unknown = unknown_prompts([*config.prompts, *(n for n in config.negative_prompts if n.strip())])
    if unknown:
        shown = ", ".join(repr(p) for p in unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        out.append(
            f"the analytic model does not know the words of {shown}: such a prompt renders a pattern "
            "seeded by its text (known: colour and shape words, e.g. 'a red circle on blue')"
        )
    stiff = stiff_prompts(config)
    if stiff:
        shown = ", ".join(repr(p) for p in stiff[:3]) + (f" and {len(stiff) - 3} more" if len(stiff) > 3 else "")
        out.append(
            f"{shown}: in the analytic model's stiff regime (a concept its unconditional mixture lacks, at "
            f"cfg_scale >= {STIFF_CFG:g}): explicit samplers may stop converging with more steps there; "
            "ode_error notes it on the cells (bench.metrics.ode_reference)"
        )
    return out


#: the guidance scale from which an off-mixture prompt was measured stiff (see `stiff_prompts`)
STIFF_CFG = 2.0


def stiff_prompts(config) -> list[str]:
    """Prompts whose guided probability-flow ODE is stiff on the analytic model (bench.metrics.ode_reference).

    With guidance g the ODE's Jacobian holds -(1 - g) Cov_u(mu) / v, of order (g - 1) |mu_i - mu_j|^2 / s^2
    wherever the unconditional posterior hesitates between components. A prompt whose concept is one of
    the unconditional mixture's (the vocabulary for an empty negative prompt, else the negative prompt's
    own concept) ends on a component that posterior is sure of; any other concept ends between them.
    Measured at 8x8 (LSODA going implicit): cfg 7, 4 of 4 such prompts stiff and 0 of 4 others; cfg 2-3,
    3 of 5; cfg 1.5, 0 of 1. Hence the warning from cfg 2 on.
    """
    from bench.models.concepts import parse_prompt, vocabulary

    if not any(g >= STIFF_CFG for g in config.cfg_scales):
        return []
    known = set(vocabulary())
    out = []
    for prompt in config.prompts:
        concept = parse_prompt(prompt) if prompt.strip() else None
        for negative in config.negative_prompts:
            uncond = known if not negative.strip() else {parse_prompt(negative)}
            if concept is not None and concept not in uncond and prompt not in out:
                out.append(prompt)
    return out


def unknown_prompts(prompts: Iterable[str]) -> list[str]:
    from bench.models.concepts import PatternConcept, parse_prompt

    return [p for p in prompts if isinstance(parse_prompt(p), PatternConcept)]


def resume_warnings(config, rows: list[dict], cell_ids: set[str]) -> list[str]:
    """Differences between the stored cells and this config (rows: the store's, read before the run)."""
    out = []
    ok = [r for r in rows if r["status"] == "ok"]
    repeats = sorted({len(r["sample_s_repeats"] or []) for r in ok} - {config.repeats, 0})
    if repeats:
        out.append(
            f"repeats changed: finished cells were timed with repeats {', '.join(map(str, repeats))}, "
            f"this run uses {config.repeats}; only new cells use it (--force reruns every cell)"
        )
    sizes = {r["batch_size"] for r in ok if r["batch_size"] is not None}
    expected = min(config.batch_size, len(config.seeds))
    if sizes and (max(sizes) > config.batch_size or max(sizes) < expected):
        out.append(
            f"batch_size changed: finished cells ran in batches of up to {max(sizes)}, this run uses "
            f"{config.batch_size}; times per image depend on it (--force reruns every cell)"
        )
    stale = sum(r["cell_id"] not in cell_ids for r in rows)
    if stale:
        out.append(
            f"{stale} stored cell(s) are not in this benchmark file any more (an older version of it); "
            "they stay in the store and in its report"
        )
    return out
