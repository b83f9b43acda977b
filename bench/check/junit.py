"""JUnit XML of a check: one test case per cell, so CI test views name the failing cells.

A cell with a regression (or missing from the run) is a <failure>; warnings go to its <system-out>; a new
cell is <skipped> (not gated). Findings about the whole run are one extra case named "whole run".
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bench.check.compare import FAILING, Finding, Report, cell_order
from bench.check.text import cell_label


def _message(findings: list[Finding]) -> str:
    return "; ".join(f"{f.check}: {f.change or f.current} {f.detail}".strip() for f in findings)


def junit_tree(report: Report) -> ET.ElementTree:
    by_cell: dict[str, list[Finding]] = {}
    for f in report.findings:
        for cid in f.cell_ids or ("",):
            by_cell.setdefault(cid, []).append(f)
    cells = {**report.baseline.cells, **report.current.cells}
    ids = sorted(
        dict.fromkeys([*report.baseline.cells, *report.current.cells, *by_cell]),
        key=lambda cid: cell_order(cells[cid].params if cid in cells else {}, cid),
    )
    suite = ET.Element("testsuite", name=f"bench check {report.current.name}")
    props = ET.SubElement(suite, "properties")
    for d in report.environment:
        ET.SubElement(props, "property", name=f"environment.{d.key}", value=f"{d.baseline} -> {d.current}")
    failures = skipped = 0
    for cid in ids:
        cell = cells.get(cid)
        params = cell.params if cell else {}
        sampler = str(params.get("sampler_id") or "run").replace(".", "_")
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"samplerbench.{sampler}",
            name=f"{cell_label(params, cid)} [{cid}]" if cid else "whole run",
            time="0",
        )
        found = by_cell.get(cid, [])
        failing = [f for f in found if f.kind in FAILING]
        if failing:
            failures += 1
            failure = ET.SubElement(case, "failure", type=failing[0].kind, message=_message(failing))
            failure.text = "\n".join(
                f"{f.check}: baseline {f.baseline}, current {f.current} {f.change}: {f.detail}" for f in failing
            )
        elif any(f.kind == "new" for f in found):
            skipped += 1
            ET.SubElement(case, "skipped", message=_message([f for f in found if f.kind == "new"]))
        others = [f for f in found if f.kind in ("warning", "improvement")]
        if others:
            ET.SubElement(case, "system-out").text = "\n".join(f"{f.kind}: {_message([f])}" for f in others)
    suite.set("tests", str(len(ids)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    return ET.ElementTree(suite)


def write_junit(report: Report, path: str | Path) -> Path:
    from bench.safe_write import atomic_path

    tree = junit_tree(report)
    ET.indent(tree)
    with atomic_path(path, "the JUnit XML") as tmp:  # unique temp name; a failed write leaves nothing
        tree.write(tmp, encoding="utf-8", xml_declaration=True)
    return Path(path)
