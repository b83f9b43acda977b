"""The run matrix: a config expands into cells (one image each), grouped into batches of seeds.

What a cell is — its axes, their columns and their part in the id — is declared in `bench.record`;
a `Cell` is the values of those axes, with typed accessors for the built-in ones.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator

from bench import record

if TYPE_CHECKING:
    from bench.config import Config, SamplerChoice
    from bench.models import ModelSpec

#: bump only when the meaning of an existing id field changes
CELL_ID_VERSION = 1


@dataclass(frozen=True)
class Cell:
    """One image: a value for every declared axis. Its id hashes everything that changes the image."""

    values: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, **values: Any) -> "Cell":
        missing = [name for name in record.AXES if name not in values]
        unknown = [name for name in values if name not in record.AXES]
        if missing or unknown:
            raise TypeError(f"a cell needs exactly the declared axes; missing {missing}, unknown {unknown}")
        return cls(tuple((name, values[name]) for name in record.AXES))

    @cached_property
    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)

    def __getitem__(self, axis: str) -> Any:
        return self.as_dict[axis]

    def with_(self, **changes: Any) -> "Cell":
        """The same cell with some axes changed (e.g. another seed of its group)."""
        return Cell.of(**{**self.as_dict, **changes})

    # typed accessors of the built-in axes
    @property
    def model(self) -> "ModelSpec":
        return self["model"]

    @property
    def prompt(self) -> str:
        return self["prompt"]

    @property
    def negative_prompt(self) -> str:
        return self["negative_prompt"]

    @property
    def seed(self) -> int:
        return self["seed"]

    @property
    def sampler(self) -> "SamplerChoice":
        return self["sampler"]

    @property
    def steps(self) -> int:
        return self["steps"]

    @property
    def cfg_scale(self) -> float:
        return self["cfg_scale"]

    @property
    def width(self) -> int:
        return self["size"][0]

    @property
    def height(self) -> int:
        return self["size"][1]

    @property
    def clip_skip(self) -> int:
        return self["clip_skip"]

    def identity(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": CELL_ID_VERSION}
        for name, value in self.values:
            out.update(record.AXES[name].id_entries(value))
        return out

    @cached_property
    def id(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def identity_without(self, *axes: str) -> dict[str, Any]:
        """The id's entries but those of the named axes (a set of cells that differ only there)."""
        out: dict[str, Any] = {"v": CELL_ID_VERSION}
        for name, value in self.values:
            if name not in axes:
                out.update(record.AXES[name].id_entries(value))
        return out

    def task_identity(self) -> dict[str, Any]:
        """The id's entries but those of the axes a user chooses (sampler, steps): the task a reference
        solution solves, the same for every sampler."""
        return self.identity_without(*(n for n, a in record.AXES.items() if a.role == "choice"))

    def group_key(self) -> str:
        """Cells equal but for the seed run together as one batch."""
        key = {}
        for name, value in self.values:
            axis = record.AXES[name]
            if axis.batch:
                key[name] = axis.id_entries(value) or axis.stored(value)
        return json.dumps(key, sort_keys=True, default=str)

    def params(self) -> dict[str, Any]:
        """The flat parameters stored with the cell (its axis columns)."""
        out: dict[str, Any] = {}
        for name, value in self.values:
            out.update(record.AXES[name].stored(value))
        return out


def expand(config: "Config") -> list[Cell]:
    """Every cell of the config, in a stable order: the declared axes' order, the seed last."""
    names = list(record.AXES)
    return [Cell(tuple(zip(names, combo))) for combo in itertools.product(*(config.axes[n] for n in names))]


def batches(cells: list[Cell], batch_size: int) -> Iterator[list[Cell]]:
    """Cells grouped by everything but the seed, in chunks of at most `batch_size` seeds."""
    groups: dict[str, list[Cell]] = {}
    for cell in cells:
        groups.setdefault(cell.group_key(), []).append(cell)
    for group in groups.values():
        for start in range(0, len(group), batch_size):
            yield group[start : start + batch_size]
