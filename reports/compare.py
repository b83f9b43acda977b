"""Two runs side by side (fp16 against fp32, two library versions, two machines, two option values):
the same cells matched, images A | B | difference, and time and metric deltas with noise-aware verdicts.

Cells match by id, or by the labels the user names (`match`, e.g. sampler, steps, seed, prompt), so a
changed sampler option compares old against new instead of listing "missing" and "new". Per
configuration, time is compared with a Mann-Whitney U test on the timing samples and each metric with a
bootstrap interval of the paired differences; inside the noise the verdict is "tie". Writes compare.html
(self-contained, same style as the report, every string escaped) and compare.md for a pull request.

Where a prompt suite labelled the prompts (either run), a "By category" section gives each metric's
A → B mean per category over every matched configuration, with the same paired-bootstrap verdict: "did
my change hurt the text-rendering prompts?" in one row. Set-scope metrics (FID, KID) have no
per-category value and are left out, as in the report's category tables.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from PIL import Image, ImageChops, ImageOps

from reports.axes import Axes, AxisInfo
from reports.categories import NO_LABEL, per_category
from reports.embed import data_uri
from reports.frame import TIME_COLUMN, config_keys, config_label, repeats_of
from reports.metrics import present_metrics
from reports.stats import QUALITY_TEST, TIME_TEST, bootstrap_interval, mann_whitney_p

TEMPLATES = Path(__file__).parent / "templates"
MAX_IMAGES = 120  # image triptychs in the page; every pair is still in the tables


@dataclass(frozen=True)
class Row:
    """One configuration compared: its label, time A/B and the verdicts."""

    label: str
    n: int
    time_a: float
    time_b: float
    time_verdict: str
    metrics: tuple[tuple[str, str, str], ...]  # (metric label, "A → B", verdict)


@dataclass(frozen=True)
class CategoryRows:
    """One label column (category, challenge) compared: per value, n pairs and each metric's verdict."""

    label: str
    rows: tuple[tuple[str, int, tuple[tuple[str, str, str], ...]], ...]  # (value, n, metrics as in Row)


def match(a: pd.DataFrame, b: pd.DataFrame, keys: Sequence[str] | None) -> tuple[pd.DataFrame, int, int]:
    """Pairs of cells (columns suffixed _a and _b), and how many cells only A and only B have."""
    keys = list(keys or ["cell_id"])
    for frame in (a, b):
        frame["_key"] = frame[keys].astype(str).agg("\x1f".join, axis=1)
    pairs = a.drop_duplicates("_key").merge(b.drop_duplicates("_key"), on="_key", suffixes=("_a", "_b"))
    return pairs, int((~a["_key"].isin(b["_key"])).sum()), int((~b["_key"].isin(a["_key"])).sum())


def _samples(cells: pd.DataFrame, side: str) -> list[float]:
    pooled = [r for v in cells.get(f"sample_s_repeats_{side}", []) for r in repeats_of(v)]
    return pooled or [float(t) for t in cells[f"{TIME_COLUMN}_{side}"].dropna()]


def time_verdict(a: list[float], b: list[float]) -> str:
    if not a or not b:
        return "no timings"
    p = mann_whitney_p(a, b)
    ratio = float(np.median(b)) / float(np.median(a)) if np.median(a) > 0 else float("nan")
    if p >= 0.05:
        return f"tie ({ratio:.2f}x, p = {p:.2g})"
    return f"B {'slower' if ratio > 1 else 'faster'} ({ratio:.2f}x, p = {p:.2g})"


def metric_verdict(spec, a: pd.Series, b: pd.Series) -> str:
    lo, hi = bootstrap_interval((b - a).to_numpy())
    if np.isnan(lo):
        return "not measured"
    if lo <= 0 <= hi:
        return f"tie (Δ in [{lo:.3g}, {hi:.3g}])"
    better = (
        (hi < 0)
        if spec.goal == "min"
        else (lo > 0)
        if spec.goal == "max"
        else bool(((b - 1).abs() - (a - 1).abs()).mean() < 0)
    )
    return f"B {'better' if better else 'worse'} (Δ in [{lo:.3g}, {hi:.3g}])"


def _arrow(spec, cells: pd.DataFrame) -> str:
    return (
        f"{spec.format(float(cells[spec.name + '_a'].mean()))} → {spec.format(float(cells[spec.name + '_b'].mean()))}"
    )


def compare_rows(pairs: pd.DataFrame, keys: list[str], axes: Axes, metrics: list) -> list[Row]:
    rows = []
    both_ok = pairs[(pairs["status_a"] == "ok") & (pairs["status_b"] == "ok")]
    for key, cells in both_ok.groupby([f"{k}_a" for k in keys], sort=False, dropna=False):
        label = config_label(dict(zip(keys, key if isinstance(key, tuple) else (key,))), keys, axes)
        ta, tb = _samples(cells, "a"), _samples(cells, "b")
        verdicts = tuple(
            (
                m.label,
                _arrow(m, cells),
                metric_verdict(m, cells[m.name + "_a"].astype(float), cells[m.name + "_b"].astype(float)),
            )
            for m in metrics
        )
        rows.append(
            Row(
                label,
                len(cells),
                float(np.median(ta)) if ta else float("nan"),
                float(np.median(tb)) if tb else float("nan"),
                time_verdict(ta, tb),
                verdicts,
            )
        )
    return rows


def category_rows(both_ok: pd.DataFrame, groups: Sequence[AxisInfo], metrics: list) -> list[CategoryRows]:
    """Per label column some matched cell has (A's label, else B's): each metric's mean A → B per
    value, over every matched configuration (per_category's means), and the paired-bootstrap verdict."""
    shown = [m for m in metrics if m.scope != "set"]
    out: list[CategoryRows] = []
    for group in groups:
        # suffixed where both runs have the column, plain where one run (an older store) lacks it
        sides = [both_ok[c] for c in (f"{group.column}_a", f"{group.column}_b", group.column) if c in both_ok]
        if not shown or not sides or not any(side.notna().any() for side in sides):
            continue
        labels = sides[0].combine_first(sides[-1]).fillna(NO_LABEL)
        names = [m.name for m in shown]
        means = [
            per_category(
                pd.DataFrame({"status": "ok", group.column: labels, **{n: both_ok[f"{n}_{s}"] for n in names}}),
                [],
                group.column,
                names,
            ).set_index(group.column)
            for s in ("a", "b")
        ]
        rows = []
        for value, mean_a in means[0].iterrows():
            cells = both_ok[labels == value]
            verdicts = tuple(
                (
                    m.label,
                    f"{m.format(float(mean_a[m.name]))} → {m.format(float(means[1].loc[value, m.name]))}",
                    metric_verdict(m, cells[m.name + "_a"].astype(float), cells[m.name + "_b"].astype(float)),
                )
                for m in shown
            )
            rows.append((str(value), int(mean_a["n_images"]), verdicts))
        out.append(CategoryRows(group.label, tuple(rows)))
    return out


def triptych(path_a: Path, path_b: Path, side: int = 128) -> tuple[str, float]:
    """A | B | |A - B| x 4 as one PNG data URI, and the largest pixel difference (0-255)."""
    with Image.open(path_a) as ia, Image.open(path_b) as ib:
        a, b = ia.convert("RGB"), ib.convert("RGB").resize(ia.size)
    diff = ImageChops.difference(a, b)
    peak = float(np.asarray(diff).max())
    loud = diff.point(lambda v: min(255, v * 4))
    tiles = [ImageOps.contain(im, (side, side), Image.Resampling.NEAREST) for im in (a, b, loud)]
    out = Image.new("RGB", (sum(t.width for t in tiles) + 8, max(t.height for t in tiles)), (255, 255, 255))
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + 4
    buf = io.BytesIO()
    out.save(buf, "PNG")
    return data_uri(buf.getvalue(), "image/png"), peak


def _images(pairs: pd.DataFrame, run_a: Path, run_b: Path, keys: list[str], axes: Axes) -> list[dict]:
    shown: list[dict[str, str]] = []
    for _, p in pairs.iterrows():
        if len(shown) >= MAX_IMAGES:
            break
        if (
            p["status_a"] != "ok"
            or p["status_b"] != "ok"
            or not isinstance(p["image_a"], str)
            or not isinstance(p["image_b"], str)
        ):
            continue
        fa, fb = run_a / p["image_a"], run_b / p["image_b"]
        if fa.is_file() and fb.is_file():
            uri, peak = triptych(fa, fb)
            label = " · ".join(f"{axes.label(k)} {p[k + '_a']}" for k in keys)
            shown.append({"label": label, "uri": uri, "peak": f"{peak:.0f}"})
    return shown


def compare_runs(
    a: pd.DataFrame,
    b: pd.DataFrame,
    names: tuple[str, str],
    run_dirs: tuple[Path, Path],
    out_dir: Path,
    record: dict,
    match_on: Sequence[str] | None = None,
) -> tuple[Path, Path]:
    """Write out_dir/compare.html and out_dir/compare.md; return their paths."""
    axes = Axes.of(record)
    pairs, only_a, only_b = match(a.copy(), b.copy(), match_on)
    keys = config_keys(pd.concat([a, b]), axes)
    metrics = [m for m in present_metrics(a) if m in present_metrics(b)]
    rows = compare_rows(pairs, keys, axes, metrics)
    both = pairs[(pairs["status_a"] == "ok") & (pairs["status_b"] == "ok")]
    by_category = category_rows(both, axes.groups, metrics)
    overall = time_verdict(_samples(both, "a"), _samples(both, "b")) if len(both) else "no cell ran in both"
    context = {
        "names": names,
        "matched": len(pairs),
        "only_a": only_a,
        "only_b": only_b,
        "rows": rows,
        "metrics": [m.label for m in metrics],
        "overall": overall,
        "match": ", ".join(match_on) if match_on else "cell id",
        "time_test": TIME_TEST,
        "quality_test": QUALITY_TEST,
        "by_category": by_category,
        "category_metrics": [m.label for m in metrics if m.scope != "set"],
        "images": _images(pairs, *run_dirs, keys, axes),
        "max_images": MAX_IMAGES,
    }
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    html, md = out_dir / "compare.html", out_dir / "compare.md"
    html.write_text(env.get_template("compare.html.j2").render(**context), encoding="utf-8")
    md.write_text(markdown(context), encoding="utf-8")
    return html, md


def _md(text: object) -> str:
    """Table-safe markdown text: pipes and HTML-significant characters escaped."""
    return (
        str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")
    )


def markdown(c: dict) -> str:
    a, b = (_md(n) for n in c["names"])
    lines = [
        f"### samplerbench compare: A = {a}, B = {b}",
        "",
        (
            f"{c['matched']} cells matched by {_md(c['match'])}; only in A: {c['only_a']}, "
            f"only in B: {c['only_b']}. Time overall: {_md(c['overall'])}."
        ),
        "",
        "| configuration | n | s/image A | s/image B | time | " + " | ".join(map(_md, c["metrics"])) + " |",
        "|---|---:|---:|---:|---|" + "---|" * len(c["metrics"]),
    ]
    for r in c["rows"]:
        cells = [_md(r.label), str(r.n), f"{r.time_a:.3g}", f"{r.time_b:.3g}", _md(r.time_verdict)]
        cells += [f"{_md(v)}: {_md(d)}" for _, v, d in r.metrics]
        lines.append("| " + " | ".join(cells) + " |")
    for table in c.get("by_category", []):
        lines += [
            "",
            f"#### By {_md(table.label)} (every matched configuration)",
            "",
            f"| {_md(table.label)} | n | " + " | ".join(map(_md, c["category_metrics"])) + " |",
            "|---|---:|" + "---|" * len(c["category_metrics"]),
        ]
        for value, n, metrics in table.rows:
            cells = [_md(value), str(n)] + [f"{_md(v)}: {_md(d)}" for _, v, d in metrics]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Time: {c['time_test']}. Metrics: {c['quality_test']}; inside the noise the verdict is a tie."]
    return "\n".join(lines) + "\n"
