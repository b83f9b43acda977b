"""Warnings printed before a run when a setting does nothing, or differs from the cells already stored.

None of these stops a run: each is a fact a reader of the results would otherwise learn too late
(identical images across a clip_skip axis, a prompt the analytic model renders as a hash pattern, timings
taken with other repeats or batch sizes, stored cells the current file no longer asks for).
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
