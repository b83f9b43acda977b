"""YAML with positions: every value's line is kept so config errors can name file, key path and line."""
from __future__ import annotations

from typing import Any

import yaml

from bench.errors import ConfigError

KeyPath = tuple[Any, ...]


def format_path(path: KeyPath) -> str:
    """('samplers', 2, 'name') -> 'samplers[2].name'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def load_yaml(text: str, filename: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse with the safe loader; return the data and a map key path -> 1-based line."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        data = _build(loader, node, (), lines, filename) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"invalid YAML: {exc.problem or exc}", filename, None, line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", filename) from None
    finally:
        loader.dispose()
    return data, lines


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int],
           filename: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int)):
                raise ConfigError(f"keys must be strings, got {key!r}", filename, format_path(path),
                                  key_node.start_mark.line + 1)
            if key in out:
                raise ConfigError("duplicate key", filename, format_path(path + (key,)),
                                  key_node.start_mark.line + 1)
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, path + (key,), lines, filename)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, path + (i,), lines, filename) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
