"""YAML with positions: every value's line is kept so config errors can name file, key path and line.

Inputs are bounded before they cost anything: the file's size, the nesting depth (checked on the parser's
event stream, which is not recursive, so 20,000 nested lists are one line, not a RecursionError), and the
number of values built (an alias "billion laughs" bomb expands lazily and stops at the bound).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bench.errors import ConfigError

KeyPath = tuple[Any, ...]

MAX_BYTES = 1 << 20  #: a benchmark file is a page of YAML; 1 MiB (tens of thousands of prompts) is far beyond
MAX_DEPTH = 64  #: nesting levels of lists and mappings
MAX_VALUES = 200_000  #: values built, aliases expanded (each use of an alias counts its whole subtree)


def read_yaml(path: Path) -> tuple[Any, dict[KeyPath, int]]:
    """Read a YAML file within the bounds above: (data, key path -> line); every problem a ConfigError."""
    name = str(path)
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the benchmark file: {exc.strerror or exc}", name) from None
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"file larger than {MAX_BYTES >> 20} MiB; a benchmark file is a page of YAML", name)
    if b"\0" in raw:
        line = raw[: raw.index(b"\0")].count(b"\n") + 1
        raise ConfigError("binary data (a NUL byte): not a YAML benchmark file", name, None, line)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", name, None, line
        ) from None
    return load_yaml(text, name)


def format_path(path: KeyPath) -> str:
    """('samplers', 2, 'name') -> 'samplers[2].name'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def load_yaml(text: str, filename: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse with the safe loader; return the data and a map key path -> 1-based line."""
    _check_depth(text, filename)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        budget = [MAX_VALUES]
        data = _build(loader, node, (), lines, filename, budget) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", filename, None, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", filename) from None
    finally:
        loader.dispose()
    return data, lines


def _check_depth(text: str, filename: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH from the event stream, before the (recursive) composer runs."""
    depth = 0
    scanner = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's event scan is 20x faster when present
    try:
        for event in yaml.parse(text, Loader=scanner):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(
                        f"nested more than {MAX_DEPTH} levels deep",
                        filename,
                        None,
                        event.start_mark.line + 1 if event.start_mark else None,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return  # the loader below reports it with its position


def _build(
    loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], filename: str, budget: list[int]
) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigError(
            f"more than {MAX_VALUES} values once aliases are expanded (an alias bomb?)",
            filename,
            format_path(path),
            node.start_mark.line + 1,
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int)):
                raise ConfigError(
                    f"keys must be strings, got {key!r}", filename, format_path(path), key_node.start_mark.line + 1
                )
            if key in out:
                raise ConfigError("duplicate key", filename, format_path(path + (key,)), key_node.start_mark.line + 1)
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, path + (key,), lines, filename, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), lines, filename, budget) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
