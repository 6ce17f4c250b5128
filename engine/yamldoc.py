"""YAML documents that remember where each value came from.

Locations are computed once, at load, from the YAML node marks; nothing else threads a
location by hand. A `Doc` maps a key path such as `("measures", "total")` to its line and
column (1-based), and falls back to the nearest enclosing node. It also keeps the source text
of every scalar, so a problem at a character of a value (a column name inside an expression)
is located inside the quotes, the escapes or the folded lines it was written with.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import Diagnostic

__all__ = ["Doc", "KeyPath", "load_docs", "yaml_diagnostic"]

KeyPath = tuple[str | int, ...]
Mark = tuple[int, int]

_TOP_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:(?:\s+[\"']?([^\s\"'#]+))?")
# problems about a key itself point at the key, not at its value
_KEY_PROBLEMS = ("unknown key", "duplicate key")


@dataclass(frozen=True, slots=True)
class Doc:
    """One YAML document: its data, where it came from, and the position of every node.

    `marks` holds the position of each scalar value and of the key of each collection;
    `key_marks` the position of each mapping key; `scalars` the start, the source text and the
    text value of each scalar.
    """

    path: str
    data: Any
    marks: dict[KeyPath, Mark] = field(default_factory=dict)
    duplicate_keys: tuple[tuple[KeyPath, str], ...] = ()
    key_marks: dict[KeyPath, Mark] = field(default_factory=dict)
    scalars: dict[KeyPath, tuple[int, int, str, str]] = field(default_factory=dict)

    def where(self, keys: KeyPath = ()) -> Mark:
        """Line and column of the node at `keys`, or of its nearest located ancestor."""
        for end in range(len(keys), -1, -1):
            found = self.marks.get(keys[:end])
            if found:
                return found
        return (1, 1)

    def where_key(self, keys: KeyPath) -> Mark:
        """Line and column of the key that names the node at `keys` (else of the node)."""
        return self.key_marks.get(keys) or self.where(keys)

    def where_in(self, keys: KeyPath, offset: int) -> Mark:
        """Line and column of character `offset` of the scalar value at `keys`.

        The value is aligned with its source text, so quotes, escapes, block indicators and
        folded lines are accounted for; without a scalar at `keys`, the node's position.
        """
        found = self.scalars.get(keys)
        if found is None:
            return self.where(keys)
        line, col, raw, value = found
        at = _source_offset(value, raw, offset)
        before = raw[:at]
        newlines = before.count("\n")
        if newlines:
            return (line + newlines, at - before.rfind("\n"))
        return (line, col + at)

    def diagnostic(
        self,
        keys: KeyPath,
        rule_id: str,
        problem: str,
        suggestion: str = "",
        *,
        at_key: bool | None = None,
        offset: int | None = None,
    ) -> Diagnostic:
        """A diagnostic located at `keys`; the field is the dotted key path.

        Args:
            keys: the key path of the offending node.
            rule_id: the rule (or mapping) the problem belongs to.
            problem: what is wrong.
            suggestion: how to fix it, if known.
            at_key: point at the key rather than the value; by default, problems that start
                with "unknown key" or "duplicate key" do.
            offset: point at this character of the scalar value instead of its start.
        """
        if at_key is None:
            at_key = problem.startswith(_KEY_PROBLEMS)
        if at_key:
            line, col = self.where_key(keys)
        elif offset is not None:
            line, col = self.where_in(keys, offset)
        else:
            line, col = self.where(keys)
        field_name = ".".join(str(k) for k in keys) or "-"
        return Diagnostic(self.path, line, col, rule_id, field_name, problem, suggestion)


def _source_offset(value: str, raw: str, offset: int) -> int:
    """The index in `raw` (a scalar's source) of character `offset` of its `value`."""
    if raw == value:
        return min(offset, len(raw))
    matcher = difflib.SequenceMatcher(None, value, raw, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        if offset < a + size:
            # inside this block, or in an unmatched stretch (an escape) just before it
            return b + max(offset - a, 0)
    return len(raw.rstrip())


def _mark(mark: yaml.Mark) -> Mark:
    return (mark.line + 1, mark.column + 1)


def _walk(node: yaml.Node, keys: KeyPath, source: str, doc: Doc, dups: list[Any]) -> None:
    doc.marks[keys] = _mark(node.start_mark)
    if isinstance(node, yaml.ScalarNode):
        raw = source[node.start_mark.index : node.end_mark.index]
        doc.scalars[keys] = (*_mark(node.start_mark), raw, str(node.value))
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                dups.append(((*keys, key), key))
            seen.add(key)
            doc.key_marks[(*keys, key)] = _mark(key_node.start_mark)
            _walk(value_node, (*keys, key), source, doc, dups)
            if not isinstance(value_node, yaml.ScalarNode):
                # a collection is located at its key: its own first line may be far below
                doc.marks[(*keys, key)] = _mark(key_node.start_mark)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*keys, i), source, doc, dups)


def load_docs(path: Path | str, text: str | None = None) -> list[Doc]:
    """Every document of a YAML file with its marks.

    libyaml composes the nodes when PyYAML has it (about 8x faster than pure Python: reading
    the shipped pack's YAML was most of a scan's `rules` stage); its marks count characters,
    as PyYAML's do. A file libyaml rejects is read again in pure Python, whose error messages
    are the ones diagnostics quote.

    Raises:
        yaml.YAMLError: the file is not YAML at all (see `yaml_diagnostic`).
    """
    source = Path(path).read_text(encoding="utf-8") if text is None else text
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _compose(fast, path, source)
        except yaml.YAMLError:
            pass
    return _compose(yaml.SafeLoader, path, source)


def _compose(loader_class: Any, path: Path | str, source: str) -> list[Doc]:
    docs: list[Doc] = []
    loader = loader_class(source)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            located = Doc(str(path), None)
            dups: list[Any] = []
            _walk(node, (), source, located, dups)
            data = loader.construct_document(node)
            docs.append(
                Doc(
                    located.path,
                    data,
                    located.marks,
                    tuple(dups),
                    located.key_marks,
                    located.scalars,
                )
            )
    finally:
        loader.dispose()
    return docs


def yaml_diagnostic(path: Path | str, exc: yaml.YAMLError, text: str | None = None) -> Diagnostic:
    """A file that is not YAML at all, located where the parser gave up.

    With the file's `text`, the rule id and the top-level key are read from the lines before
    the construct that failed (its start, when the parser names one), as far as they go.
    """
    mark = getattr(exc, "problem_mark", None)
    line, col = _mark(mark) if mark is not None else (1, 1)
    problem = str(getattr(exc, "problem", None) or exc).strip()
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    hint = ""
    if context and context_mark is not None and context_mark.line + 1 != line:
        hint = f"{context} at line {context_mark.line + 1}, column {context_mark.column + 1}"
    elif context:
        hint = str(context)
    rule_id, field_name = "-", "-"
    start = context_mark.line + 1 if context_mark is not None else line
    for source_line in (text or "").splitlines()[:start]:
        if source_line.startswith("---"):
            rule_id, field_name = "-", "-"
        elif found := _TOP_KEY.match(source_line):
            field_name = found[1]
            if field_name == "id" and found[2]:
                rule_id = found[2]
    return Diagnostic(str(path), line, col, rule_id, field_name, f"not valid YAML: {problem}", hint)
