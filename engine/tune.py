"""Backtests of stored runs, and threshold sweeps for rule authors.

`backtest_run` reads one run's alerts and cases back from the store and measures them against
truth. `sweep` re-evaluates one rule over already-ingested data for each value of one param,
so a rule author picks a threshold from evidence: alerts, true and false positives and recall
at each value, and what each value catches or loses against the current one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from engine.alerts import build_alerts
from engine.backtest import Backtest, alert_subjects, measure
from engine.catalogue import indicator_of
from engine.errors import InputError
from engine.evaluate import compile_rule, evaluate
from engine.kinds import EvalContext
from engine.spec import RulePack, load_pack
from engine.store import open_store

__all__ = ["Sweep", "backtest_run", "plot_sweep", "sweep"]


def backtest_run(
    db: Path,
    truth: pl.DataFrame,
    population: pl.DataFrame,
    *,
    run_id: str | None = None,
    truth_name: str = "",
) -> tuple[str, Backtest]:
    """Measure a stored run (default: the latest) against truth and store the figures."""
    with open_store(db) as store:
        if run_id is None:
            latest = store.query("SELECT run_id FROM runs ORDER BY started_at DESC LIMIT 1")
            if latest.is_empty():
                raise InputError(f"{db}: the store holds no run to backtest")
            run_id = str(latest["run_id"][0])
        alerts = store.query("SELECT * FROM alerts WHERE last_run = ?", [run_id])
        cases = store.query("SELECT * FROM cases WHERE last_run = ?", [run_id])
        case_alerts = store.query(
            "SELECT ca.* FROM case_alerts ca JOIN cases c USING (case_id) WHERE c.last_run = ?",
            [run_id],
        )
        evidence = store.query(
            "SELECT t.alert_id, t.customer_id FROM alert_transactions t "
            "JOIN alerts a USING (alert_id) WHERE a.last_run = ?",
            [run_id],
        )
        rule_ids = sorted(set(alerts["rule_id"].to_list()))
        pack = load_pack()
        rules = [r for r in pack.rules if r.id in rule_ids] or list(pack.rules)
        result = measure(alerts, cases, case_alerts, truth, population, rules, evidence)
        store.write_backtest(
            uuid.uuid4().hex[:12],
            run_id,
            truth_name,
            result.rules,
            result.scenarios,
            result.population,
        )
    return run_id, result


@dataclass(frozen=True, slots=True)
class Sweep:
    """One row per tried value."""

    rule_id: str
    param: str
    current: Any
    table: pl.DataFrame


def sweep(
    txns: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    rule_id: str,
    param: str,
    values: Sequence[Any],
    customers: pl.DataFrame | None = None,
    pack: RulePack | None = None,
) -> Sweep:
    """Evaluate one rule at each param value and measure it against truth."""
    base = pack or load_pack(only={rule_id})
    rule = base.get(rule_id)
    if rule is None:
        raise InputError(f"{rule_id}: no such rule")
    if param not in rule.params:
        raise InputError(f"{rule_id}: no param '{param}' (params: {', '.join(rule.params)})")
    context = EvalContext(
        customers=None if customers is None else customers.lazy(), lists=base.lists.tables
    )
    planted = truth.filter(~pl.col("is_lookalike"))
    expected = set(
        planted.filter(pl.col("expected_indicator_ids").list.contains(indicator_of(rule)))[
            "customer_id"
        ].to_list()
    )
    population = (
        txns.select("customer_id").unique()
        if "customer_id" in txns.columns
        else pl.DataFrame({"customer_id": []})
    )
    current_hits: set[str] | None = None
    rows = []
    for value in [rule.params[param].value, *values]:
        variant = load_pack(
            Path(rule.path), overrides={rule_id: {param: value}}, lists=base.lists, only={rule_id}
        ).rules[0]
        compiled = compile_rule(variant)
        evaluation = evaluate(txns, [compiled], customers=customers, context=context)
        if rule_id in evaluation.skipped:
            raise InputError(f"{rule_id}: skipped on this data: {evaluation.skipped[rule_id]}")
        alerts, evidence = build_alerts(
            variant, evaluation.hits[rule_id], txns, entity_type=compiled.partition_key or "-"
        )
        figures = measure(
            alerts, pl.DataFrame(), pl.DataFrame(), truth, population, [variant], evidence
        ).rules.row(0, named=True)
        hits = set(alert_subjects(alerts, evidence)["subject"].to_list()) & expected
        if current_hits is None:
            current_hits = hits
            continue
        rows.append(
            {
                "value": value,
                "alerts": figures["alerts"],
                "true_positives": figures["true_positives"],
                "false_positives": figures["false_positives"],
                "precision": figures["precision"],
                "recall": figures["recall"],
                "gained_vs_current": len(hits - current_hits),
                "lost_vs_current": len(current_hits - hits),
            }
        )
    return Sweep(rule_id, param, rule.params[param].value, pl.DataFrame(rows))


def plot_sweep(result: Sweep, path: Path) -> Path:
    """A PNG of alerts (bars) and recall/precision (lines) against the param value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = result.table
    labels = [str(v) for v in table["value"].to_list()]
    fig, left = plt.subplots(figsize=(7, 4))
    left.bar(labels, table["alerts"].to_list(), color="#9db4c0", label="alerts")
    left.set_xlabel(f"{result.param} (current: {result.current})")
    left.set_ylabel("alerts")
    right = left.twinx()
    right.plot(
        labels, table["recall"].fill_null(0).to_list(), marker="o", color="#c0392b", label="recall"
    )
    right.plot(
        labels,
        table["precision"].fill_null(0).to_list(),
        marker="s",
        color="#27ae60",
        label="precision",
    )
    right.set_ylim(0, 1.05)
    right.set_ylabel("recall / precision")
    fig.legend(loc="upper right")
    left.set_title(f"{result.rule_id}: sweep of {result.param}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
