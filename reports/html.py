"""The self-contained HTML report: one Jinja2 template (autoescape on), inline CSS and JS, no network.

All user text (prompts, sampler names, errors, metadata) reaches the page only through the template's
autoescaping; the one block marked safe is the explorer's JSON, escaped for its <script> element. Charts
and thumbnails are embedded as data URIs (linked mode: relative paths), so the page opens alone, offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from reports.axes import Axes
from reports.charts import MEMORY_KINDS, Chart
from reports.embed import file_uri, human_bytes
from reports.explorer import to_script_json
from reports.frame import ordered_values, varying
from reports.metrics import METRICS, MetricSpec
from reports.objective import Objective
from reports.recommend import MetricAdvice
from reports.tables import Table, failure_rows, unknown_metric_columns
from reports.verdict import Verdict

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Notice:
    kind: str  # short tag shown before the text
    text: str


def derive_warnings(results: pd.DataFrame, meta: dict, axes: Axes) -> list[Notice]:
    """The run's own warnings plus what the data itself says a reader must know."""
    found = [Notice("run", str(w)) for w in meta.get("warnings", [])]
    said = " ".join(w.text.lower() for w in found)
    if "random_weights" in results and results["random_weights"].any() and "random weights" not in said:
        models = ", ".join(map(str, results.loc[results["random_weights"].astype(bool), "model"].unique()))
        found.append(
            Notice(
                "random weights",
                f"{models}: random weights, so images and CLIP scores are not meaningful; time and memory are real.",
            )
        )
    if "clip_score" not in results.columns and "clip" not in said:
        found.append(Notice("CLIP", "No CLIP score in this run: alignment with the prompt was not measured."))
    device = str(meta.get("environment", {}).get("device", ""))
    kinds = set(results["peak_mem_kind"].dropna().astype(str)) if "peak_mem_kind" in results else set()
    if (device.startswith("cpu") or "cpu_peak_rss_process" in kinds) and not ("cpu" in said and "tim" in said):
        found.append(
            Notice(
                "CPU timing",
                "Timed on a CPU: times rank samplers on this machine only and do "
                "not predict GPU speed; memory is " + MEMORY_KINDS["cpu_peak_rss_process"] + ".",
            )
        )
    failed = int((results["status"] != "ok").sum())
    if failed:
        found.append(Notice("failures", f"{failed} of {len(results)} cells failed: see Failures."))
    unknown = unknown_metric_columns(results, axes)
    if unknown:
        found.append(
            Notice("columns", "Columns with no known direction, shown but not ranked: " + ", ".join(unknown) + ".")
        )
    return found


def facts(results: pd.DataFrame, meta: dict, axes: Axes) -> list[tuple[str, str]]:
    """The summary's key figures, and the values of every other axis the run varied."""
    ok = int((results["status"] == "ok").sum())
    steps = ", ".join(map(str, sorted(results["steps"].unique())))
    models = list(dict.fromkeys(map(str, results["model"])))
    out = [
        ("benchmark", str(meta.get("name", "unnamed"))),
        ("created", str(meta.get("created", "unknown"))),
        ("models" if len(models) > 1 else "model", ", ".join(models)),
        ("cells", f"{ok} ok of {len(results)}"),
        ("samplers", str(results["sampler"].nunique())),
        ("step counts", steps),
        ("prompts", str(results["prompt"].nunique())),
        ("seeds", str(results["seed"].nunique())),
    ]
    shown = {"model", "sampler", "steps", "prompt", "seed"}
    for column in varying(results, [c for c in axes.columns if c not in shown]):
        out.append((axes.label(column), ", ".join(map(str, ordered_values(results, column)))))
    return out


def environment_rows(meta: dict) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(machine, packages, model identity) as key/value text."""
    env = meta.get("environment", {}) or {}
    machine = [(k, str(env.get(k))) for k in ("device", "device_name", "cpu", "python", "platform", "git")]
    machine.append(("schema version", str(meta.get("schema_version", "unknown"))))
    packages = sorted((str(k), str(v)) for k, v in (env.get("packages") or {}).items())
    model = meta.get("model") or {}
    identity = (
        [(str(k), v if isinstance(v, str) else json.dumps(v, default=str)) for k, v in model.items()]
        if isinstance(model, dict)
        else [("model", str(model))]
    )
    return machine, packages, identity


def mode_text(explorer: dict, charts: list[Chart]) -> str:
    """What the page carries and what it needs, said out loud at its top."""
    if explorer["linked"]:
        return (
            "Linked mode: images and charts are files of the run folder (images/, charts/), so this page "
            "needs that folder next to it. It weighs __REPORT_SIZE__."
        )
    n = sum(1 for c in explorer["cells"] if "src" in c)
    return (
        f"Self-contained: {n} thumbnails and {len(charts)} charts are embedded in this file "
        "(__REPORT_SIZE__), so it opens alone and offline; full-resolution images and SVG charts are "
        "linked from the run folder."
    )


def chart_sources(charts: list[Chart], run_dir: Path, linked: bool) -> dict[str, str]:
    """Each chart's <img> source: its PNG as a data URI, or its relative path in linked mode."""
    return {c.name: c.png if linked else file_uri(run_dir / c.png) for c in charts}


def render_html(
    *,
    results: pd.DataFrame,
    meta: dict,
    verdicts: list[Verdict],
    objective: Objective,
    advice: list[MetricAdvice],
    skipped: list[str],
    charts: list[Chart],
    tables: list[Table],
    explorer: dict,
    metrics: list[MetricSpec],
    colours: dict[str, str],
    axes: Axes,
    run_dir: Path,
    fingerprint: str = "",
) -> str:
    """Fill the template; every string in the context is escaped by Jinja2 (the explorer's JSON is
    made safe for its <script> element by reports.explorer.to_script_json)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    machine, packages, identity = environment_rows(meta)
    spec = METRICS.get(objective.metric or "")
    html = env.get_template("report.html.j2").render(
        title=str(meta.get("name", "samplerbench report")),
        facts=facts(results, meta, axes),
        warnings=derive_warnings(results, meta, axes),
        verdicts=verdicts,
        objective=objective,
        objective_spec=spec,
        advice=advice,
        skipped=skipped,
        charts=charts,
        chart_src=chart_sources(charts, run_dir, explorer["linked"]),
        memory_note=memory_note(results),
        tables=tables,
        failures=failure_rows(results),
        explorer_json=Markup(to_script_json({k: v for k, v in explorer.items() if k != "embedded_bytes"})),
        mode=mode_text(explorer, charts),
        machine=machine,
        packages=packages,
        identity=identity,
        notes=[str(n) for n in meta.get("notes", [])],
        metrics=metrics,
        colours=colours,
        fingerprint=fingerprint,
    )
    size = len(html.encode("utf-8"))
    return html.replace("__REPORT_SIZE__", human_bytes(size), 1)


def memory_note(results: pd.DataFrame) -> str:
    """One sentence instead of a memory chart when memory is not measured per cell."""
    kinds = set(results["peak_mem_kind"].dropna().astype(str)) if "peak_mem_kind" in results else set()
    if "cuda_max_allocated" in kinds:
        return ""
    return (
        "No memory chart: on this device memory is "
        + (MEMORY_KINDS.get(next(iter(kinds)), "not measured") if kinds else "not measured")
        + ", which says nothing about one sampler against another."
    )
