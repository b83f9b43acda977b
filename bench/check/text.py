"""The console form of a check report: sections of findings as aligned tables, then one result line.

`sections` and `cell_label` are shared by the markdown and JUnit writers, so all three say the same.
"""

from __future__ import annotations

from typing import Any, Mapping

from bench.check.compare import FAILING, Finding, Report

#: (title, which findings) in print order; NFE changes get their own table (they are exact)
SECTIONS: tuple[tuple[str, Any], ...] = (
    ("Regressions", lambda f: f.kind == "regression" and f.check != "nfe"),
    ("NFE changes", lambda f: f.check == "nfe"),
    ("Missing cells", lambda f: f.kind == "missing"),
    ("Improvements", lambda f: f.kind == "improvement" and f.check != "nfe"),
    ("Warnings", lambda f: f.kind == "warning"),
    ("New", lambda f: f.kind == "new"),
)

HEADER = ("check", "cell", "baseline", "current", "change", "detail", "cell id")


def cell_label(params: Mapping[str, Any], cell_id: str = "", cells: int = 1) -> str:
    """'Euler a, 20 steps, seed 3, "a red circle", cfg 7, 64x64'; a workload says how many cells it covers."""
    if not params:
        return cell_id or "whole run"
    parts = [str(params.get("sampler") or params.get("sampler_id")), f"{params.get('steps')} steps"]
    if params.get("seed") is not None:
        parts.append(f"seed {params['seed']}")
    if params.get("prompt") is not None:
        prompt = str(params["prompt"])
        parts.append('"' + (prompt if len(prompt) <= 40 else prompt[:37] + "...") + '"')
    if params.get("cfg_scale") is not None:
        parts.append(f"cfg {params['cfg_scale']:g}")
    if params.get("width"):
        parts.append(f"{params['width']}x{params['height']}")
    parts += [f"{label} {value}" for label, value in _other_axes(params)]
    return ", ".join(parts) + (f" (all prompts and seeds: {cells} cells)" if cells > 1 else "")


_SHOWN = {"sampler", "steps", "seed", "prompt", "cfg_scale", "size"}


def _other_axes(params: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """(label, value) of every other declared axis whose value is set and not its default (model, CLIP
    skip, negative prompt, and any axis declared later)."""
    from bench.record import AXES

    out = []
    for axis in AXES.values():
        name = axis.column.name
        value = params.get(name)
        if name in _SHOWN or value is None or value == "" or value == axis.default:
            continue
        out.append((axis.column.label or name, value))
    return out


def row(f: Finding) -> tuple[str, ...]:
    check = f.check if f.check != "nfe" else f"nfe ({f.kind})"
    many = len(f.cells) > 1
    return (
        check,
        cell_label(f.params, f.cell_id, len(f.cells)),
        f.baseline,
        f.current,
        f.change,
        f.detail,
        f"{len(f.cells)} cells" if many else f.cell_id,
    )


def sections(report: Report) -> list[tuple[str, list[Finding]]]:
    out = []
    for title, wanted in SECTIONS:
        found = [f for f in report.findings if wanted(f)]
        if found:
            out.append((title, found))
    return out


def summary_line(report: Report) -> str:
    n = {kind: len(report.of_kind(kind)) for kind in ("regression", "missing", "improvement", "warning", "new")}
    verdict = "FAIL" if report.failed else "PASS"
    return (
        f"{verdict} (exit {report.exit_code}): {n['regression']} regression(s), {n['missing']} missing "
        f"cell(s); {n['improvement']} improvement(s), {n['warning']} warning(s), {n['new']} new; "
        f"{report.compared} cell(s) compared"
    )


def heading(report: Report) -> str:
    b, c = report.baseline, report.current
    return (
        f"run {c.name!r} ({len(c.cells)} cells, {c.source}) against baseline {b.name!r} "
        f"({len(b.cells)} cells, {b.source}, recorded {b.created or 'at an unknown time'})"
    )


def environment_lines(report: Report) -> list[str]:
    out = []
    for d in report.environment:
        mark = " *" if d.softens else ""
        out.append(f"{d.key}: {d.baseline} -> {d.current}{mark}")
    if any(d.softens for d in report.environment):
        out.append(
            "* makes time and memory incomparable: their failures are warnings"
            + (" (--strict is on: they fail)" if report.gate.strict else " (--strict to fail)")
        )
    return out


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows)


def format_report(report: Report) -> str:
    lines = [f"bench check: {heading(report)}", "tolerances: " + ", ".join(report.gate.describe())]
    if report.factor is not None:
        lines.append(
            f"times normalised: this machine is x{report.factor:.3g} the baseline's (median ratio over all cells)"
        )
    env = environment_lines(report)
    if env:
        lines += ["environment differs:"] + [f"  {line}" for line in env]
    for title, found in sections(report):
        failing = sum(f.kind in FAILING for f in found)
        lines += [
            "",
            f"{title.upper()} ({len(found)}"
            + (f", {failing} failing" if title == "NFE changes" and failing else "")
            + ")",
        ]
        lines.append(table([HEADER] + [row(f) for f in found]))
    lines += ["", summary_line(report)]
    return "\n".join(lines)
