"""Tests that live inside rule files, and the runner shared by `rules test` and pytest.

```yaml
tests:
  - name: three deposits of 9,500 in five days fire
    case: positive                # positive | near_miss | lookalike | edge
    transactions:                 # a small table: columns + rows, or a list of mappings
      columns: [account_id, ts_utc, direction, amount, channel]
      rows:
        - [A1, "2024-01-01T10:00:00Z", in, 9500, cash]
    customers: [{customer_id: A1, customer_type: individual}]
    params: {threshold: 9000}     # optional per-test override
    expect: {alerts: 1, entities: [A1]}
```

Defaults fill what a row leaves out: `txn_id` t1, t2, ...; `currency` USD; `customer_id` the
account id. Rows go through the real ingest path (canonical mapping, validation, FX), so a
test row that the engine would reject fails the test loudly instead of vanishing.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.errors import Diagnostic, suggest
from engine.yamldoc import Doc

__all__ = [
    "CASES",
    "EXPECT_KEYS",
    "TABLE_KEYS",
    "TEST_KEYS",
    "TestResult",
    "parse_tests",
    "run_rule_tests",
]

CASES = ("positive", "near_miss", "lookalike", "edge")
TEST_KEYS = (
    "name", "case", "transactions", "customers", "lists", "params", "expect", "note",
)  # fmt: skip
TABLE_KEYS = ("columns", "rows")
EXPECT_KEYS = ("alerts", "entities")


def _table(
    doc: Doc, keys: tuple[Any, ...], raw: Any, rule_id: str, errors: list[Diagnostic]
) -> tuple[Mapping[str, Any], ...]:
    if raw is None:
        return ()
    if isinstance(raw, dict) and "columns" in raw:
        for key in raw:
            if key not in TABLE_KEYS:
                errors.append(
                    doc.diagnostic(
                        (*keys, key), rule_id, f"unknown key '{key}'", suggest(str(key), TABLE_KEYS)
                    )
                )
        if not isinstance(raw["columns"], list):
            errors.append(doc.diagnostic((*keys, "columns"), rule_id, "expected a list of names"))
            return ()
        columns = [str(c) for c in raw["columns"]]
        rows = []
        for i, row in enumerate(raw.get("rows") or []):
            if not isinstance(row, list) or len(row) != len(columns):
                errors.append(
                    doc.diagnostic(
                        (*keys, "rows", i),
                        rule_id,
                        f"row has {len(row) if isinstance(row, list) else 1} values "
                        f"for {len(columns)} columns",
                        "columns: " + ", ".join(columns),
                    )
                )
                continue
            rows.append(dict(zip(columns, row, strict=True)))
        return tuple(rows)
    if isinstance(raw, list) and all(isinstance(r, dict) for r in raw):
        return tuple(raw)
    errors.append(doc.diagnostic(keys, rule_id, "expected columns + rows, or a list of mappings"))
    return ()


def _expected_alerts(
    doc: Doc, keys: tuple[Any, ...], item: dict[Any, Any], rule_id: str, errors: list[Diagnostic]
) -> tuple[int, tuple[str, ...] | None]:
    """The `expect` of a test: a number of alerts and, optionally, the entities."""
    name = item.get("name", f"test {keys[-1] + 1}")
    expect = item.get("expect")
    if not isinstance(expect, dict) or "alerts" not in expect:
        where = (*keys, "expect") if "expect" in item else keys
        errors.append(
            doc.diagnostic(
                where, rule_id, f"test '{name}' has no expected alerts", "add expect: {alerts: N}"
            )
        )
        return 0, None
    for key in expect:
        if key not in EXPECT_KEYS:
            errors.append(
                doc.diagnostic(
                    (*keys, "expect", key),
                    rule_id,
                    f"unknown key '{key}'",
                    suggest(str(key), EXPECT_KEYS) or "use alerts and entities",
                )
            )
    alerts = expect["alerts"]
    if not isinstance(alerts, int) or isinstance(alerts, bool) or alerts < 0:
        errors.append(
            doc.diagnostic(
                (*keys, "expect", "alerts"),
                rule_id,
                f"expected a number of alerts, not {alerts!r}",
            )
        )
        alerts = 0
    entities = expect.get("entities")
    if entities is not None and not isinstance(entities, list):
        errors.append(
            doc.diagnostic(
                (*keys, "expect", "entities"), rule_id, "expected a list of entity ids", "[A1, A2]"
            )
        )
        entities = None
    return alerts, None if entities is None else tuple(str(e) for e in entities)


def parse_tests(doc: Doc, rule_id: str, raw: Any, errors: list[Diagnostic]) -> tuple[Any, ...]:
    """Parse a rule's `tests:` list into `RuleTest`s, recording located problems."""
    from engine.spec import RuleTest

    if raw is None:
        return ()
    if not isinstance(raw, list):
        errors.append(doc.diagnostic(("tests",), rule_id, "tests must be a list"))
        return ()
    out = []
    for i, item in enumerate(raw):
        keys: tuple[Any, ...] = ("tests", i)
        if not isinstance(item, dict):
            errors.append(doc.diagnostic(keys, rule_id, "a test is a mapping"))
            continue
        for key in item:
            if key not in TEST_KEYS:
                errors.append(
                    doc.diagnostic(
                        (*keys, key),
                        rule_id,
                        f"unknown key '{key}'",
                        suggest(str(key), TEST_KEYS),
                    )
                )
        case = str(item.get("case", "positive"))
        if case not in CASES:
            errors.append(
                doc.diagnostic(
                    (*keys, "case"),
                    rule_id,
                    f"unknown case '{case}'",
                    suggest(case, CASES) or "one of: " + ", ".join(CASES),
                )
            )
        params = item.get("params") or {}
        if not isinstance(params, dict):
            errors.append(doc.diagnostic((*keys, "params"), rule_id, "params must be a mapping"))
            params = {}
        alerts, entities = _expected_alerts(doc, keys, item, rule_id, errors)
        raw_lists = item.get("lists") or {}
        if not isinstance(raw_lists, dict):
            errors.append(
                doc.diagnostic((*keys, "lists"), rule_id, "lists must map list names to tables")
            )
            raw_lists = {}
        test_lists = {
            str(name): _table(doc, (*keys, "lists", name), table, rule_id, errors)
            for name, table in raw_lists.items()
        }
        out.append(
            RuleTest(
                name=str(item.get("name", f"test {i + 1}")),
                case=case,
                transactions=_table(
                    doc, (*keys, "transactions"), item.get("transactions"), rule_id, errors
                ),
                customers=_table(doc, (*keys, "customers"), item.get("customers"), rule_id, errors),
                params=dict(params),
                lists=test_lists,
                expect_alerts=alerts,
                expect_entities=entities,
                line=doc.where(keys)[0],
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class TestResult:
    """The outcome of one inline test."""

    rule_id: str
    name: str
    case: str
    passed: bool
    expected: str
    got: str
    location: str

    __test__ = False  # not a pytest class


def _frame_rows(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, row in enumerate(rows):
        full = {"txn_id": f"t{i + 1}", "currency": "USD"} | {k: v for k, v in row.items()}
        full.setdefault("customer_id", full.get("account_id"))
        out.append({k: None if v is None else str(v) for k, v in full.items()})
    return out


def run_rule_tests(
    rules: Sequence[Any], *, lists: Any, pack: Sequence[Any] | None = None
) -> list[TestResult]:
    """Run the inline tests of `rules` through ingest, evaluation and episode merging.

    Args:
        pack: the rules whose stage-1 alerts a graph rule's tests may read (default `rules`).
    """
    from engine.alerts import build_alerts
    from engine.evaluate import compile_rule, evaluate
    from engine.ingest import load_customers, read_transactions
    from engine.kinds import EvalContext
    from engine.spec import load_pack

    results = []
    with tempfile.TemporaryDirectory(prefix="moneytrail-test-") as tmp:
        for rule in rules:
            for n, test in enumerate(rule.tests):
                location = f"{rule.path}:{test.line}"
                target = rule
                test_lists = _with_test_lists(lists, test.lists)
                if test.params or test.lists:
                    target = load_pack(
                        Path(rule.path),
                        overrides={rule.id: test.params} if test.params else None,
                        lists=test_lists,
                        only={rule.id},
                    ).rules[0]
                txn_path = Path(tmp) / f"{rule.id}-{n}.ndjson"
                txn_path.write_text(
                    "\n".join(json.dumps(r) for r in _frame_rows(test.transactions)) + "\n"
                )
                ingested = read_transactions([txn_path], mapping="canonical")
                customers = None
                if test.customers:
                    cust_path = Path(tmp) / f"{rule.id}-{n}-customers.csv"
                    pl.DataFrame(
                        [
                            {k: None if v is None else str(v) for k, v in c.items()}
                            for c in test.customers
                        ]
                    ).write_csv(cust_path)
                    customers, _ = load_customers(cust_path)
                if not ingested.rejects.is_empty():
                    first = ingested.rejects.row(0, named=True)
                    results.append(
                        TestResult(
                            rule.id,
                            test.name,
                            test.case,
                            False,
                            f"{test.expect_alerts} alert(s)",
                            f"row {first['line']} rejected: {first['field']}: {first['reason']}",
                            location,
                        )
                    )
                    continue
                compiled = compile_rule(target)
                context = EvalContext(
                    customers=None if customers is None else customers.lazy(),
                    lists=test_lists.tables,
                )
                if compiled.stage > 1:
                    # graph rules may read earlier alerts: those of the pack on the same rows
                    context = _with_stage_one_alerts(
                        context, ingested.transactions, customers, pack or rules
                    )
                evaluation = evaluate(
                    ingested.transactions, [compiled], customers=customers, context=context
                )
                if rule.id in evaluation.skipped:
                    results.append(
                        TestResult(
                            rule.id,
                            test.name,
                            test.case,
                            False,
                            f"{test.expect_alerts} alert(s)",
                            f"rule skipped: {evaluation.skipped[rule.id]}",
                            location,
                        )
                    )
                    continue
                alerts, _ = build_alerts(
                    target,
                    evaluation.hits[rule.id],
                    ingested.transactions,
                    entity_type=compiled.partition_key or "-",
                )
                entities = tuple(sorted(alerts["entity"].to_list()))
                ok = alerts.height == test.expect_alerts and (
                    test.expect_entities is None or entities == tuple(sorted(test.expect_entities))
                )
                expected = f"{test.expect_alerts} alert(s)" + (
                    f" on {', '.join(test.expect_entities)}"
                    if test.expect_entities is not None
                    else ""
                )
                got = f"{alerts.height} alert(s)" + (
                    f" on {', '.join(entities)}" if entities else ""
                )
                if not ok and alerts.height:
                    got += "; measures: " + "; ".join(alerts["measures"].to_list()[:3])
                results.append(
                    TestResult(rule.id, test.name, test.case, ok, expected, got, location)
                )
    return results


def _with_stage_one_alerts(
    context: Any, txns: pl.DataFrame, customers: pl.DataFrame | None, rules: Sequence[Any]
) -> Any:
    """The context with the alerts of every stage-1 rule of the pack on these rows."""
    import dataclasses

    from engine.alerts import ALERT_SCHEMA, build_alerts
    from engine.evaluate import compile_rule, evaluate

    first = [c for c in (compile_rule(r) for r in rules) if c.stage == 1]
    evaluation = evaluate(txns, first, customers=customers, context=context)
    parts = [
        build_alerts(c.rule, evaluation.hits[c.rule.id], txns, entity_type=c.partition_key or "-")[
            0
        ]
        for c in first
        if c.rule.id in evaluation.hits
    ]
    alerts = pl.concat(parts) if parts else pl.DataFrame(schema=ALERT_SCHEMA)
    return dataclasses.replace(context, alerts=alerts)


def _with_test_lists(lists: Any, tables: Mapping[str, Sequence[Mapping[str, Any]]]) -> Any:
    """The pack's reference lists with a test's own rows in place of the named lists."""
    from engine.lists import RefLists

    if not tables:
        return lists
    replaced = {
        name: pl.DataFrame(
            [{k: None if v is None else str(v) for k, v in row.items()} for row in rows]
        )
        for name, rows in tables.items()
    }
    return RefLists({**lists.tables, **replaced})
