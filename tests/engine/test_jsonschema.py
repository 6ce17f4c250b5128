"""The JSON Schema of rule files: generated from the spec, shipped in sync, accepts every
shipped rule and rejects broken ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from engine.jsonschema import SCHEMA_PATH, rule_schema, schema_text
from engine.kinds import KINDS
from engine.paths import RULES_DIR
from engine.rulemeta import META_KEYS
from engine.spec import rule_files

VALIDATOR = jsonschema.Draft7Validator(rule_schema())
SHIPPED = [
    pytest.param(doc, id=f"{path.relative_to(RULES_DIR)}#{i}")
    for path in rule_files(RULES_DIR)
    for i, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    if doc is not None
]
GOOD = {
    "id": "TE-SCHEMA-01",
    "title": "Large cash deposits",
    "kind": "aggregate",
    "pillar": "moving_proceeds",
    "by": "account_id",
    "where": "channel = 'cash'",
    "window": "7d",
    "measures": {"total": "sum(amount_base)"},
    "having": "total >= $threshold",
    "params": {"threshold": {"value": 10000, "src": "FIN14"}},
    "tests": [{"name": "fires", "transactions": [], "expect": {"alerts": 0}}],
}


def errors(doc: dict[str, Any]) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(doc)]


def test_the_shipped_schema_is_what_the_spec_generates() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "run: moneytrail rules schema --out rules/rule.schema.json"
    )


def test_the_schema_is_a_valid_draft_07_schema() -> None:
    jsonschema.Draft7Validator.check_schema(rule_schema())


def test_each_kind_allows_exactly_the_header_keys_and_its_own() -> None:
    per_kind = {
        branch["if"]["properties"]["kind"]["const"]: branch["then"]["propertyNames"]["enum"]
        for branch in rule_schema()["allOf"]
    }

    assert per_kind == {name: [*META_KEYS, *kind.keys] for name, kind in KINDS.items()}


@pytest.mark.parametrize("doc", SHIPPED)
def test_every_shipped_rule_validates(doc: dict[str, Any]) -> None:
    assert errors(doc) == []


def test_a_good_rule_validates() -> None:
    assert errors(GOOD) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"wher": "amount > 1"}, "'wher' was unexpected"),
        ({"steps": []}, "'steps' is not one of"),  # a sequence key in an aggregate
        ({"kind": "agregate"}, "'agregate' is not one of"),
        ({"pillar": "laundering"}, "'laundering' is not one of"),
        ({"severity": "hgih"}, "'hgih' is not one of"),
        ({"subject_role": "boss"}, "'boss' is not one of"),
        ({"weight": -1}, "-1 is less than the minimum of 0"),
        ({"id": "ht_struct_1"}, "does not match"),
        ({"window": "7days"}, "'7days' is not valid under any of the given schemas"),
        ({"measures": ["count(*)"]}, "is not of type 'object'"),
        ({"by": "acount_id"}, "'acount_id' is not one of"),
        ({"params": {"threshold": {"vaule": 1}}}, "is not valid under any of the given schemas"),
        ({"tests": [{"name": "no expect"}]}, "'expect' is a required property"),
        ({"tests": [{"expect": {"alerts": 1}, "case": "positve"}]}, "'positve' is not one of"),
    ],
    ids=lambda v: str(v)[:40] if isinstance(v, dict) else None,
)
def test_a_broken_rule_does_not_validate(change: dict[str, Any], message: str) -> None:
    found = errors(GOOD | change)

    assert any(message in e for e in found), found


def test_a_sequence_needs_two_steps() -> None:
    one_step = {"id": "TE-SEQ-02", "kind": "sequence", "steps": [{"name": "a", "where": "x"}]}

    assert any("is too short" in e for e in errors(one_step))


def test_a_rule_needs_an_id_and_a_kind() -> None:
    assert sorted(errors({"title": "nothing else"})) == [
        "'id' is a required property",
        "'kind' is a required property",
    ]


def test_the_schema_is_shipped_beside_the_rules() -> None:
    assert SCHEMA_PATH == RULES_DIR / "rule.schema.json"
    assert Path(SCHEMA_PATH).is_file()
