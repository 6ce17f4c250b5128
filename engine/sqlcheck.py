"""Checks on rule expressions that Polars lets through, and where in the text a name is.

`polars.sql_expr` parses `amount > 'abc'` and evaluates it quietly to false (the text is cast
to a number and becomes null), so a rule with such a typo would never fire. Comparisons of
text with a non-text value are found here, at load time, by walking the expression tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

__all__ = ["TextComparison", "find_name", "in_string", "text_comparisons"]

_COMPARISONS = {"Eq", "NotEq", "Lt", "LtEq", "Gt", "GtEq", "EqValidity", "NotEqValidity"}
_TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum, pl.Null)


def in_string(text: str, pos: int) -> bool:
    """True when `pos` lies inside a single-quoted SQL string literal of `text`."""
    # an escaped quote ('') adds two quotes, so the parity of the count still tells
    return text.count("'", 0, pos) % 2 == 1


def find_name(text: str, name: str) -> int:
    """Offset of identifier `name` in SQL `text`, outside string literals; -1 if absent.

    A whole word only (not the `amount` in `amount_base`), and not a `$param` or `@list`.
    """
    pattern = re.compile(r"(?<![\w$@.])\"?" + re.escape(name) + r"\"?(?!\w)")
    for match in pattern.finditer(text):
        if not in_string(text, match.start()):
            return match.start() + (1 if match.group().startswith('"') else 0)
    return -1


@dataclass(frozen=True, slots=True)
class TextComparison:
    """A text literal compared with a value of another type."""

    literal: str
    dtype: pl.DataType
    column: str | None  # the compared column, when it is a plain column

    @property
    def what(self) -> str:
        """The compared value in words: `amount (a number)`."""
        kind = (
            "a number"
            if self.dtype.is_numeric()
            else "true or false"
            if self.dtype == pl.Boolean
            else str(self.dtype)
        )
        return f"{self.column} ({kind})" if self.column else kind

    @property
    def hint(self) -> str:
        """How to write the literal instead."""
        if self.dtype.is_numeric():
            return "write the number without quotes"
        if self.dtype == pl.Boolean:
            return "write true or false without quotes"
        return ""


def _nodes(expr: pl.Expr) -> Iterator[pl.Expr]:
    yield expr
    for child in expr.meta.pop():
        yield from _nodes(child)


def _text_literal(expr: pl.Expr) -> str | None:
    if not expr.meta.is_literal():
        return None
    tree = json.loads(expr.meta.serialize(format="json"))
    return str(tree["Literal"]["Scalar"]["String"]) if _is_text(tree) else None


def _suspect(tree: Any, schema: Mapping[str, pl.DataType]) -> bool:
    """True when the serialized tree compares a text literal with anything but a text column.

    A cheap first look, so the common `channel = 'cash'` costs one serialization.
    """
    if isinstance(tree, list):
        return any(_suspect(item, schema) for item in tree)
    if not isinstance(tree, dict):
        return False
    binary = tree.get("BinaryExpr")
    if isinstance(binary, dict) and binary.get("op") in _COMPARISONS:
        sides = (binary.get("left"), binary.get("right"))
        for side, other in (sides, sides[::-1]):
            if _is_text(side) and not _is_text(other):
                column = other.get("Column") if isinstance(other, dict) else None
                if not isinstance(column, str) or not _text_type(schema.get(column)):
                    return True
    return any(_suspect(value, schema) for value in tree.values())


def _text_type(dtype: pl.DataType | None) -> bool:
    return dtype is not None and any(dtype == t for t in _TEXT_TYPES)


def _is_text(tree: Any) -> bool:
    try:
        return isinstance(tree["Literal"]["Scalar"]["String"], str)
    except (KeyError, TypeError):
        return False


def text_comparisons(expr: pl.Expr, schema: Mapping[str, pl.DataType]) -> list[TextComparison]:
    """Every comparison of a text literal with a value the text cannot be read as."""
    found: list[TextComparison] = []
    if not _suspect(json.loads(expr.meta.serialize(format="json")), schema):
        return found
    frame = pl.LazyFrame(schema=dict(schema))
    for node in _nodes(expr):
        tree = json.loads(node.meta.serialize(format="json"))
        binary = tree.get("BinaryExpr") if isinstance(tree, dict) else None
        if not isinstance(binary, dict) or binary.get("op") not in _COMPARISONS:
            continue
        sides = node.meta.pop()
        for literal_side, other in (sides, sides[::-1]):
            text = _text_literal(literal_side)
            if text is None or _text_literal(other) is not None:
                continue
            dtype = frame.select(other.alias("_value")).collect_schema()["_value"]
            if _text_type(dtype):
                continue
            try:
                pl.select(pl.lit(text).cast(dtype, strict=True)).item()
            except pl.exceptions.PolarsError:
                column = other.meta.output_name() if other.meta.is_column() else None
                found.append(TextComparison(text, dtype, column))
    return found
