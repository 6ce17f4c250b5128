"""YAML documents that remember where each value came from.

Locations are computed once, at load, from the YAML node marks; nothing else threads a
location by hand. A `Doc` maps a key path such as `("measures", "total")` to its line and
column (1-based), and falls back to the nearest enclosing node.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Diagnostic

__all__ = ["Doc", "KeyPath", "load_docs"]

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Doc:
    """One YAML document: its data, where it came from, and the position of every node."""

    path: str
    data: Any
    marks: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    duplicate_keys: tuple[tuple[KeyPath, str], ...] = ()

    def where(self, keys: KeyPath = ()) -> tuple[int, int]:
        """Line and column of the node at `keys`, or of its nearest located ancestor."""
        for end in range(len(keys), -1, -1):
            found = self.marks.get(keys[:end])
            if found:
                return found
        return (1, 1)

    def diagnostic(
        self, keys: KeyPath, rule_id: str, problem: str, suggestion: str = ""
    ) -> Diagnostic:
        """A diagnostic located at `keys`; the field is the dotted key path."""
        line, col = self.where(keys)
        field_name = ".".join(str(k) for k in keys) or "-"
        return Diagnostic(self.path, line, col, rule_id, field_name, problem, suggestion)


def _walk(
    node: yaml.Node, keys: KeyPath, marks: dict[KeyPath, tuple[int, int]], dups: list[Any]
) -> None:
    marks[keys] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dups.append(((*keys, key), key))
            seen.add(key)
            # the key's own position is more useful than the value's for "unknown key"
            marks[(*keys, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _walk(value_node, (*keys, key), marks, dups)
            marks[(*keys, key)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if isinstance(value_node, yaml.ScalarNode):
                # scalars: point at the value, where a bad expression is
                marks[(*keys, key)] = (
                    value_node.start_mark.line + 1,
                    value_node.start_mark.column + 1,
                )
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*keys, i), marks, dups)


def load_docs(path: Path | str, text: str | None = None) -> Iterator[Doc]:
    """Every document of a YAML file with its marks.

    Raises:
        yaml.YAMLError: the file is not YAML at all (callers turn this into a diagnostic).
    """
    source = Path(path).read_text(encoding="utf-8") if text is None else text
    loader = yaml.SafeLoader(source)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            marks: dict[KeyPath, tuple[int, int]] = {}
            dups: list[Any] = []
            _walk(node, (), marks, dups)
            data = loader.construct_document(node)
            yield Doc(str(path), data, marks, tuple(dups))
    finally:
        loader.dispose()
