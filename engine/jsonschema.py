"""The JSON Schema of rule files, generated from the spec itself so that it cannot drift.

The vocabulary comes from the loader's own tuples: the header keys and their choices from
`engine.rulemeta`, each kind's keys from `engine.kinds.KINDS`, the keys of params and inline
tests from `engine.spec` and `engine.ruletests`, columns from `engine.schema`. What the
schema adds is the shape of well-known keys (an expression is a string, a window a
duration); a key whose shape it does not know may hold anything. The loader stays the judge:
editors get completion, hover text and early red squiggles, and `moneytrail rules check`
(which also knows columns, params, lists and types inside expressions) has the last word.

`rules/rule.schema.json` is this module's output (`moneytrail rules schema --out ...`), and a
test keeps the two equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.paths import RULES_DIR
from engine.rulemeta import CHOICES, ID_PATTERN, LISTS, META_KEYS
from engine.ruletests import CASES, EXPECT_KEYS, TABLE_KEYS, TEST_KEYS
from engine.spec import _ROW_COLUMNS, DURATION_PATTERN, PARAM_KEYS

__all__ = ["SCHEMA_PATH", "rule_schema", "schema_text", "write_schema"]

SCHEMA_PATH = RULES_DIR / "rule.schema.json"
Schema = dict[str, Any]

_PARAM_REF = r"^\$[A-Za-z_][A-Za-z0-9_]*$"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/definitions/{name}"}


def _definitions() -> dict[str, Schema]:
    """Shapes used in several places, referred to by name."""
    return {
        "expression": {
            "type": ["string", "number"],
            "description": "A SQL expression over the canonical columns; $param and @list refs.",
        },
        "duration": {
            "type": "string",
            "anyOf": [{"pattern": DURATION_PATTERN}, {"pattern": _PARAM_REF}],
            "description": "A number and a unit (us, ms, s, m, h, d, w), e.g. 48h; or a $param.",
        },
        "column": {
            "enum": sorted({*_ROW_COLUMNS, "customer_id"}),
            "description": "A canonical column (typologies.md §1).",
        },
        "whole": {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": _PARAM_REF}]
        },
        "strings": {"type": "array", "items": {"type": ["string", "number"]}},
        "param": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {key: {} for key in PARAM_KEYS},
                    "required": ["value"],
                    "additionalProperties": False,
                },
                {"not": {"type": "object"}},
            ],
            "description": "A value, or {value, src, currency, note}; used as $name.",
        },
        "table": _table_shape(),
        "test": _test_shape(),
    }


def _kind_key_shapes() -> dict[str, Schema]:
    """The shape of each kind key whose meaning is the same in every kind that has it."""
    from engine.kinds.window import CALENDAR
    from graphs.patterns import PATTERNS

    return {
        "by": _ref("column"),
        "attribute": _ref("column"),
        "column": _ref("column"),
        **{
            key: _ref("expression")
            for key in ("where", "having", "in", "out", "exclude", "match", "ref_where")
        },
        **{key: _ref("duration") for key in ("window", "span", "within")},
        "period": {"enum": list(CALENDAR), "description": "A calendar period."},
        "measures": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": _ref("expression"),
            "description": "name: SQL aggregation, in order; later ones may use earlier ones.",
        },
        "repeat": {
            "type": "object",
            "properties": {"count": _ref("whole"), "within": _ref("duration")},
            "additionalProperties": False,
        },
        "steps": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "where": _ref("expression")},
                "required": ["name", "where"],
            },
        },
        "baseline": {
            "type": "object",
            "properties": {"periods": {"type": "integer"}, "min_periods": {"type": "integer"}},
        },
        "distinct": {"type": "object", "additionalProperties": _ref("whole")},
        "min_customers": _ref("whole"),
        "list": {"type": "string", "description": "A reference list of rules/lists/."},
        "group": {"type": "string", "description": "A group of the reference list."},
        "pattern": {"enum": sorted(PATTERNS), "description": "A pattern of graphs.patterns."},
    }


def _meta_shapes() -> dict[str, Schema]:
    from engine.kinds import KINDS

    shapes: dict[str, Schema] = {
        "id": {"type": "string", "pattern": ID_PATTERN, "description": "PREFIX-NAME-NN"},
        "kind": {"enum": list(KINDS)},
        "weight": {"type": "number", "minimum": 0},
        "version": {"type": ["string", "number"]},
        "params": {"type": "object", "additionalProperties": _ref("param")},
        "tests": {"type": "array", "items": _ref("test")},
        **{key: {"enum": list(choices)} for key, choices in CHOICES.items()},
        **{key: _ref("strings") for key in LISTS},
    }
    return {key: shapes.get(key, {"type": "string"}) for key in META_KEYS}


def _table_shape() -> Schema:
    columns_rows: dict[str, Schema] = {
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "array"}},
    }
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {key: columns_rows.get(key, {}) for key in TABLE_KEYS},
                "required": ["columns"],
                "additionalProperties": False,
            },
            {"type": "array", "items": {"type": "object"}},
        ],
        "description": "columns + rows, or a list of mappings.",
    }


def _test_shape() -> Schema:
    shapes: dict[str, Schema] = {
        "name": {"type": "string"},
        "case": {"enum": list(CASES)},
        "transactions": _ref("table"),
        "customers": _ref("table"),
        "params": {"type": "object"},
        "expect": {
            "type": "object",
            "properties": {
                key: {"type": "integer", "minimum": 0} if key == "alerts" else _ref("strings")
                for key in EXPECT_KEYS
            },
            "required": ["alerts"],
            "additionalProperties": False,
        },
    }
    return {
        "type": "object",
        "properties": {key: shapes.get(key, {}) for key in TEST_KEYS},
        "required": ["expect"],
        "additionalProperties": False,
    }


def rule_schema() -> Schema:
    """The JSON Schema (draft-07) of one rule document."""
    from engine.kinds import KINDS

    shapes = _kind_key_shapes()
    kind_keys = dict.fromkeys(key for kind in KINDS.values() for key in kind.keys)
    per_kind = [
        {
            "if": {"properties": {"kind": {"const": name}}, "required": ["kind"]},
            "then": {
                "properties": {key: shapes.get(key, {}) for key in kind.keys},
                "propertyNames": {"enum": [*META_KEYS, *kind.keys]},
            },
        }
        for name, kind in KINDS.items()
    ]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "moneytrail rule",
        "description": (
            "A typology rule: identity and provenance, a kind and its logic, params, tests. "
            "Generated by `moneytrail rules schema`; do not edit by hand."
        ),
        "type": "object",
        "required": ["id", "kind"],
        "properties": {**_meta_shapes(), **{key: {} for key in kind_keys}},
        "additionalProperties": False,
        "allOf": per_kind,
        "definitions": _definitions(),
    }


def schema_text() -> str:
    """The schema as the text of `rules/rule.schema.json`."""
    return json.dumps(rule_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the schema to `path` (default: the shipped `rules/rule.schema.json`)."""
    path.write_text(schema_text(), encoding="utf-8")
    return path
