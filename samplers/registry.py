"""The one registry type of the project (after lm-eval's `api/registry.py`): canonical names and aliases
with collision checks, "did you mean" answers, and lazy "module:attr" entries imported only when chosen,
so `bench --help` never imports torch. Sampler families and samplers, model kinds and metrics all use it.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Iterable
from typing import Any, Generic, Iterator, TypeVar

T = TypeVar("T")


def normalise(name: str) -> str:
    """The lookup form of a name: case, spaces, '-' and '_' do not matter ("Euler a" == "euler_a")."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def did_you_mean(name: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.5) -> list[str]:
    """The candidates nearest to `name` (spelling, case and separators ignored), best first: the one
    "did you mean" helper of every error message."""
    by_key: dict[str, str] = {}
    for candidate in candidates:
        by_key.setdefault(normalise(str(candidate)), str(candidate))
    keys = difflib.get_close_matches(normalise(str(name)), list(by_key), n=n, cutoff=cutoff)
    return [by_key[k] for k in keys]


def load_attr(ref: str) -> Any:
    """Import "module:attr": heavy backends (torch, diffusers, ray) load only when an entry is used."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


class Lazy:
    """A registry entry named by "module:attr", imported on first `get`."""

    def __init__(self, ref: str) -> None:
        if ":" not in ref:
            raise ValueError(f"a lazy entry is 'module:attr', got {ref!r}")
        self.ref = ref


class SamplerError(ValueError):
    """A sampler name, schedule or option the user can fix; `bench` turns it into a located UserError."""

    key: str | None = None  # the option at fault, when there is one


class UnknownName(SamplerError, LookupError):
    """Raised for a name that is not registered; the message lists the nearest names."""

    def __init__(self, kind: str, name: str, suggestions: list[str], available: list[str]) -> None:
        self.name, self.suggestions, self.available = name, suggestions, available
        hint = f" Did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        shown = ", ".join(available[:12]) + (", ..." if len(available) > 12 else "")
        super().__init__(f"unknown {kind} {name!r}.{hint} Available: {shown}")


class Registry(Generic[T]):
    """Maps canonical ids and aliases to entries; registering a name twice is an error."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._names: dict[str, str] = {}  # normalised name -> canonical id
        self._display: dict[str, str] = {}  # normalised name -> the name as registered

    def add(self, canonical: str, entry: T | Lazy, aliases: tuple[str, ...] = ()) -> T | Lazy:
        if canonical in self._entries:
            raise ValueError(f"{self.kind} {canonical!r} is registered twice")
        self._entries[canonical] = entry  # type: ignore[assignment]
        for name in (canonical, *aliases):
            self.alias(name, canonical)
        return entry

    def lazy(self, canonical: str, ref: str, aliases: tuple[str, ...] = ()) -> None:
        """Register "module:attr", imported the first time the entry is used."""
        self.add(canonical, Lazy(ref), aliases)

    def alias(self, name: str, canonical: str) -> None:
        key = normalise(name)
        owner = self._names.get(key)
        if owner is not None and owner != canonical:
            raise ValueError(f"{self.kind} alias {name!r} claimed by both {owner!r} and {canonical!r}")
        self._names[key] = canonical
        self._display.setdefault(key, name)

    def replace(self, canonical: str, entry: T) -> T | Lazy:
        """Put another entry under a registered name (a wrapped adapter, a test's); returns the old one."""
        old = self._entries[canonical]
        self._entries[canonical] = entry
        return old

    def remove(self, canonical: str) -> None:
        """Unregister an entry and all its names (plugins that come and go, tests)."""
        del self._entries[canonical]
        for key in [k for k, v in self._names.items() if v == canonical]:
            del self._names[key], self._display[key]

    def get(self, name: str) -> T:
        canonical = self._names.get(normalise(name))
        if canonical is None:
            raise UnknownName(self.kind, name, self.suggest(name), list(self._entries))
        entry: Any = self._entries[canonical]
        if isinstance(entry, Lazy):
            entry = self._entries[canonical] = load_attr(entry.ref)
        return entry

    __getitem__ = get

    def names(self) -> list[str]:
        """The canonical names, in registration order."""
        return list(self._entries)

    def suggest(self, name: str, n: int = 3) -> list[str]:
        found: list[str] = []
        for display in did_you_mean(name, self._display.values(), n=n * 3):
            canonical = self._names[normalise(display)]
            shown = self._display[normalise(display)]
            if shown not in found and canonical is not None:
                found.append(shown)
        return found[:n]

    def canonical(self, name: str) -> str | None:
        """The canonical id `name` stands for, or None."""
        return self._names.get(normalise(name))

    def aliases_of(self, canonical: str) -> list[str]:
        return [self._display[k] for k, v in self._names.items() if v == canonical and k != normalise(canonical)]

    def __contains__(self, name: str) -> bool:
        return normalise(name) in self._names

    def __iter__(self) -> Iterator[T]:
        """The entries (lazy ones imported), in registration order."""
        return iter([self.get(name) for name in self._entries])

    def __len__(self) -> int:
        return len(self._entries)
