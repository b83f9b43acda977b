"""Standard prompt sets for `prompts:`: PartiPrompts, DrawBench and MLPerf's COCO-2014 captions.

    prompts: {suite: parti, categories: [Animals], limit: 50}       # downloaded once into the cache
    prompts: {suite: coco2014, file: captions_source.tsv, limit: 100}  # or read from a file you give

- parti: PartiPrompts (Yu et al. 2022, Apache-2.0), a TSV with columns Prompt, Category, Challenge, Note.
- drawbench: DrawBench (Saharia et al. 2022, Imagen), a CSV with columns Prompts, Category.
- coco2014: MLPerf inference text-to-image's caption list (5000 COCO-2014 validation captions, one per
  image), a TSV with a `caption` column (id, image_id, caption, height, width, file_name, coco_url).
Without `file:` the suite's published file is looked up in the cache (`~/.cache/samplerbench/prompts`,
or $SAMPLERBENCH_CACHE/prompts) and downloaded there once on a connected machine (never when offline:
HF_HUB_OFFLINE=1). Prompts keep the file's order; `categories:` filters (case-insensitive), `limit:`
keeps the first N; duplicates are dropped (a cell is identified by its prompt). Each prompt of a suite
is a `SuitePrompt`: a str that carries its category (and PartiPrompts' challenge), stored on its cells as
columns that are not part of the cell id (`bench.record`), so the report groups each metric by them.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.validate import Where, as_int, as_list, as_mapping, as_str


@dataclass(frozen=True)
class Suite:
    name: str
    url: str
    delimiter: str
    text: tuple[str, ...]  # the prompt column (first one present)
    category: str | None
    challenge: str | None = None  # PartiPrompts' second grouping (Basic, Imagination, ...)


SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite(
            "parti",
            "https://raw.githubusercontent.com/google-research/parti/main/PartiPrompts.tsv",
            "\t",
            ("Prompt",),
            "Category",
            "Challenge",
        ),
        Suite(
            "drawbench",
            "https://docs.google.com/spreadsheets/d/1y7nAbmR4FREi6npB1u-Bo3GFdwdOPYJc617rBOxIRHY/export?format=csv",
            ",",
            ("Prompts", "Prompt"),
            "Category",
        ),
        Suite(
            "coco2014",
            "https://raw.githubusercontent.com/mlcommons/inference/master/text_to_image/coco2014/"
            "captions/captions_source.tsv",
            "\t",
            ("caption",),
            None,
        ),
    )
}


class SuitePrompt(str):
    """A prompt read from a suite: the text (what the model sees and the cell id hashes) plus its labels."""

    category: str | None
    challenge: str | None

    def __new__(cls, text: str, category: str | None = None, challenge: str | None = None) -> "SuitePrompt":
        self = super().__new__(cls, text)
        self.category, self.challenge = category, challenge
        return self

    def __reduce__(self) -> tuple:  # executors pickle cells: keep the labels
        return (SuitePrompt, (str(self), self.category, self.challenge))


Row = tuple[str, "str | None", "str | None"]  # (prompt, category, challenge)


class Prompts(tuple):
    """The prompts (a tuple of str, as a list of prompts parses to) and the category of each, when known."""

    categories: dict[str, str]
    suite: str | None

    def __new__(
        cls,
        prompts: Any,
        categories: dict[str, str] | None = None,  # noqa: PYI034
        suite: str | None = None,
    ) -> "Prompts":
        self = super().__new__(cls, prompts)
        self.categories, self.suite = dict(categories or {}), suite
        return self


def cache_folder() -> Path:
    root = os.environ.get("SAMPLERBENCH_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "samplerbench"
    )
    return Path(root).expanduser() / "prompts"


def suite_file(suite: Suite) -> Path:
    """The suite's file in the cache, downloaded there first when missing (not when offline)."""
    from bench.metrics.weights import UrlFile, WeightsMissing, fetch

    name = {"parti": "PartiPrompts.tsv", "drawbench": "DrawBench.csv", "coco2014": "captions_source.tsv"}[suite.name]
    target = cache_folder() / name
    if target.is_file():
        return target
    try:
        downloaded = fetch(
            UrlFile(suite.url, str(cache_folder())),
            f"the {suite.name} prompt list",
            hint=f"give the file yourself: prompts: {{suite: {suite.name}, file: path}}",
        )
    except WeightsMissing as exc:
        raise OSError(str(exc).replace(" are not on", " is not on")) from None
    if Path(downloaded) != target:
        os.replace(downloaded, target)
    return target


def _label(row: dict, column: str | None) -> str | None:
    return (row.get(column) or "").strip() or None if column else None


def read_suite(suite: Suite, text: str) -> list[Row]:
    """(prompt, category, challenge) rows of a suite file's text; ValueError naming the missing column."""
    reader = csv.DictReader(io.StringIO(text), delimiter=suite.delimiter)
    fields = reader.fieldnames or []
    column = next((c for c in suite.text if c in fields), None)
    if column is None:
        raise ValueError(f"no {' or '.join(suite.text)} column (columns: {', '.join(fields) or 'none'})")
    rows = []
    for row in reader:
        prompt = (row.get(column) or "").strip()
        if prompt:
            rows.append((prompt, _label(row, suite.category), _label(row, suite.challenge)))
    return rows


def parse_prompts(value: Any, path: tuple, where: Where) -> tuple[str, ...]:
    """`prompts:` as a list of strings, or a suite mapping {suite, file, categories, limit}."""
    if not isinstance(value, dict):
        prompts = as_list(value, path, where, lambda v, p: as_str(v, p, where, allow_empty=False), scalar_ok=False)
        for i, item in enumerate(prompts):
            if item in prompts[:i]:
                raise where.error(path + (i,), f"duplicate value {item!r}")
        return prompts
    as_mapping(
        value,
        path,
        where,
        {
            "suite": "/".join(SUITES),
            "file": "the suite's file (default: downloaded)",
            "categories": "keep these categories",
            "limit": "keep the first N",
        },
    )
    if "suite" not in value:
        raise where.error(path, f"a prompts mapping needs suite: ({', '.join(SUITES)})")
    name = as_str(value["suite"], path + ("suite",), where)
    if name not in SUITES:
        raise where.error(path + ("suite",), f"unknown prompt suite {name!r}; one of {', '.join(SUITES)}")
    suite = SUITES[name]
    rows = _rows(suite, value, path, where)
    if "categories" in value:
        wanted = as_list(
            value["categories"], path + ("categories",), where, lambda v, p: as_str(v, p, where, allow_empty=False)
        )
        if suite.category is None:
            raise where.error(path + ("categories",), f"the {name} suite has no categories")
        known = {c.lower(): c for _, c, _ in rows if c}
        for i, category in enumerate(wanted):
            if category.lower() not in known:
                raise where.error(
                    path + ("categories", i),
                    f"unknown {name} category {category!r}; categories: {', '.join(sorted(known.values()))}",
                )
        keep = {c.lower() for c in wanted}
        rows = [r for r in rows if r[1] and r[1].lower() in keep]
    first = {r[0]: r for r in reversed(rows)}  # a duplicate keeps the labels of its first row
    unique = list(dict.fromkeys(p for p, _, _ in rows))
    if "limit" in value:
        unique = unique[: as_int(value["limit"], path + ("limit",), where, minimum=1)]
    chosen = [SuitePrompt(*first[p]) for p in unique]
    return Prompts(chosen, {p: p.category for p in chosen if p.category}, name)


def _rows(suite: Suite, value: dict, path: tuple, where: Where) -> list[Row]:
    if "file" in value:
        given = Path(as_str(value["file"], path + ("file",), where, allow_empty=False)).expanduser()
        file = given if given.is_absolute() else Path(where.file).parent / given
        at = path + ("file",)
    else:
        at = path + ("suite",)
        try:
            file = suite_file(suite)
        except OSError as exc:
            raise where.error(at, str(exc)) from None
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise where.error(at, f"cannot read {file}: {exc.strerror}") from None
    try:
        rows = read_suite(suite, text)
    except ValueError as exc:
        raise where.error(at, f"{file} is not a {suite.name} file: {exc}") from None
    if not rows:
        raise where.error(at, f"{file} has no prompts")
    return rows


SCHEMA: dict = {
    "oneOf": [
        {"type": "array", "items": {"type": "string"}, "minItems": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["suite"],
            "properties": {
                "suite": {"enum": list(SUITES)},
                "file": {"type": "string"},
                "categories": {"type": "array", "items": {"type": "string"}},
                "limit": {"type": "integer", "minimum": 1},
            },
        },
    ]
}
