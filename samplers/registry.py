"""A name registry with alias collision checks and "did you mean" answers (after lm-eval's registry)."""
from __future__ import annotations

import difflib
import re
from typing import Generic, Iterator, TypeVar

T = TypeVar("T")


def normalise(name: str) -> str:
    """The lookup form of a name: case, spaces, '-' and '_' do not matter ("Euler a" == "euler_a")."""
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


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

    def add(self, canonical: str, entry: T, aliases: tuple[str, ...] = ()) -> T:
        if canonical in self._entries:
            raise ValueError(f"{self.kind} {canonical!r} is registered twice")
        self._entries[canonical] = entry
        for name in (canonical, *aliases):
            self.alias(name, canonical)
        return entry

    def alias(self, name: str, canonical: str) -> None:
        key = normalise(name)
        owner = self._names.get(key)
        if owner is not None and owner != canonical:
            raise ValueError(f"{self.kind} alias {name!r} claimed by both {owner!r} and {canonical!r}")
        self._names[key] = canonical
        self._display.setdefault(key, name)

    def remove(self, canonical: str) -> None:
        """Unregister an entry and all its names (plugins that come and go, tests)."""
        del self._entries[canonical]
        for key in [k for k, v in self._names.items() if v == canonical]:
            del self._names[key], self._display[key]

    def get(self, name: str) -> T:
        canonical = self._names.get(normalise(name))
        if canonical is None:
            raise UnknownName(self.kind, name, self.suggest(name), list(self._entries))
        return self._entries[canonical]

    def suggest(self, name: str, n: int = 3) -> list[str]:
        keys = difflib.get_close_matches(normalise(name), list(self._names), n=n * 3, cutoff=0.5)
        found: list[str] = []
        for key in keys:
            if self._display[key] not in found:
                found.append(self._display[key])
        return found[:n]

    def canonical(self, name: str) -> str | None:
        """The canonical id `name` stands for, or None."""
        return self._names.get(normalise(name))

    def aliases_of(self, canonical: str) -> list[str]:
        return [self._display[k] for k, v in self._names.items() if v == canonical and k != normalise(canonical)]

    def __contains__(self, name: str) -> bool:
        return normalise(name) in self._names

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
