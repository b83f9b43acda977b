"""`bench export RUN CELL_ID --to comfyui|a1111|diffusers`: one cell, ready for another tool.

comfyui: the API-format workflow JSON (ComfyUI: "Load" it, or POST it as `prompt` to its /prompt endpoint);
a1111: the infotext (paste it into the WebUI's prompt box and press the "read generation parameters" button);
diffusers: a short Python script that remakes the image from the same weights and seed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

TARGETS = ("comfyui", "a1111", "diffusers")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN", help="the run directory")
    parser.add_argument("cell_id", metavar="CELL_ID", help="the cell's id (a unique prefix is enough)")
    parser.add_argument("--to", required=True, choices=TARGETS, help="the tool to reproduce the cell in")
    parser.add_argument("-o", "--output", metavar="FILE", help="write here instead of standard output")


def run(args: argparse.Namespace) -> int:
    from bench.errors import UserError

    cell, identity = stored_cell(Path(args.run_dir), args.cell_id)
    text = EXPORTERS[args.to](cell, identity)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"--output: cannot write {args.output}: {exc.strerror}") from None
        print(f"cell {cell.id} -> {args.output} ({args.to})", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def stored_cell(run_dir: Path, cell_id: str) -> tuple[SimpleNamespace, dict[str, Any]]:
    """The stored cell (its parameters, as the runner's Cell carries them) and its model's identity."""
    from bench.errors import UserError
    from bench.store import Store
    from samplers.catalogue import resolve

    store = Store.open(run_dir, readonly=True)  # a reader writes nothing
    try:
        rows = [r for r in store.rows() if str(r["cell_id"]).startswith(cell_id)]
        models = store.get_meta("models") or {}
    finally:
        store.close()
    if len(rows) != 1:
        found = "no cell" if not rows else f"{len(rows)} cells"
        raise UserError(f"{run_dir}: {found} with id {cell_id!r}; see results.csv for the cell ids")
    row = rows[0]
    identity = models.get(row["model"])
    if identity is None:
        raise UserError(f"{run_dir}: the run does not record model {row['model']!r}; run it again to export")
    model = SimpleNamespace(kind=identity.get("kind"), label=row["model"], options=identity)
    cell = SimpleNamespace(
        id=row["cell_id"],
        model=model,
        prompt=row["prompt"],
        negative_prompt=row["negative_prompt"] or "",
        seed=int(row["seed"]),
        steps=int(row["steps"]),
        cfg_scale=float(row["cfg_scale"]),
        width=int(row["width"]),
        height=int(row["height"]),
        clip_skip=int(row["clip_skip"]),
        sampler=SimpleNamespace(spec=resolve(row["sampler_id"]), written=row["sampler"]),
        as_dict={"noise": row.get("noise") or "samplerbench"},
    )
    return cell, identity


def to_comfyui(cell, identity: dict[str, Any]) -> str:
    from bench.comfy_workflow import cell_workflow_or_reason
    from bench.errors import UserError

    graph, why = cell_workflow_or_reason(cell)
    if graph is None:
        raise UserError(f"export --to comfyui: cell {cell.id}: {why}")
    return json.dumps(graph, indent=2, ensure_ascii=False) + "\n"


def to_a1111(cell, identity: dict[str, Any]) -> str:
    from bench.infotext import cell_infotext, format_infotext

    return format_infotext(cell_infotext(cell)) + "\n"


def to_diffusers(cell, identity: dict[str, Any]) -> str:
    from bench.diffusers_script import script
    from bench.errors import UserError

    if identity.get("kind") != "diffusers":
        raise UserError(
            f"export --to diffusers: cell {cell.id} ran on the {cell.model.label} model, which diffusers does not have"
        )
    if cell.as_dict["noise"] != "samplerbench":
        raise UserError(
            f"export --to diffusers: cell {cell.id} ran the {cell.as_dict['noise']} noise convention; "
            "the script writes samplerbench's only"
        )
    return script(cell, identity)


EXPORTERS = {"comfyui": to_comfyui, "a1111": to_a1111, "diffusers": to_diffusers}
