"""Compile rules to plans and run them together over one canonical frame.

Compilation is pure (`compile_rule` never sees data); evaluation never sees YAML. All plans
of a scan read one projected frame (only the columns the rules use, joined once with the
customer columns they use) and are collected together with `polars.collect_all`, so common
sub-plans are shared. Batch and streaming differ only in the engine that collects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from engine.kinds import KINDS, EvalContext, Plan
from engine.schema import CUSTOMER_COLUMNS, HIT_SCHEMA, TRANSACTION_COLUMNS
from engine.spec import Rule

__all__ = ["CompiledRule", "Evaluation", "compile_rule", "evaluate", "scan_columns"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule turned into a plan, with the columns it reads and its partition key."""

    rule: Rule
    plan: Plan
    partition_key: str | None
    columns: frozenset[str]
    stage: int = 1

    def describe(self) -> str:
        """The plan over an empty canonical frame, as Polars prints it (for `rules show`)."""
        schema = {
            **TRANSACTION_COLUMNS,
            **{k: v for k, v in CUSTOMER_COLUMNS.items() if k != "customer_id"},
        }
        return self.plan(pl.LazyFrame(schema=schema), EvalContext()).explain(optimized=True)


def compile_rule(rule: Rule) -> CompiledRule:
    """Build a rule's plan from its logic; touches no data."""
    kind = KINDS[rule.kind]
    key = kind.partition_key(rule.logic)
    columns = frozenset(
        rule.columns | {"txn_id", "ts_utc", "account_id"} | ({key} if key else set())
    )
    return CompiledRule(rule, kind.build(rule.logic), key, columns, kind.stage)


def scan_columns(compiled: Sequence[CompiledRule], /) -> frozenset[str]:
    """The canonical transaction columns a scan with these rules reads (for ingest to keep).

    Besides the rules' own: the alerts' evidence (`engine.alerts.EVIDENCE_COLUMNS`) and what
    network growth reads around the alerts (`graphs.networks.NETWORK_COLUMNS`).
    """
    from engine.alerts import EVIDENCE_COLUMNS
    from graphs.networks import NETWORK_COLUMNS

    used = set().union(*(c.columns for c in compiled)) if compiled else set()
    beyond = {*EVIDENCE_COLUMNS, *NETWORK_COLUMNS}
    return frozenset((used | beyond) & set(TRANSACTION_COLUMNS))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Hits per rule id, plus the rules skipped and why."""

    hits: dict[str, pl.DataFrame]
    skipped: dict[str, str]


def evaluate(
    transactions: pl.DataFrame | pl.LazyFrame,
    compiled: Sequence[CompiledRule],
    /,
    *,
    customers: pl.DataFrame | None = None,
    context: EvalContext | None = None,
    streaming: bool = False,
) -> Evaluation:
    """Run every compiled rule over the transactions; rules whose columns are absent are skipped."""
    frame = transactions.lazy()
    have_txn = set(frame.collect_schema().names())
    have_cust = set(customers.columns) if customers is not None else set()
    available = have_txn | (have_cust if "customer_id" in have_txn else set())
    skipped: dict[str, str] = {}
    runnable: list[CompiledRule] = []
    for item in compiled:
        missing = sorted(item.columns - available)
        if missing:
            skipped[item.rule.id] = "input lacks " + ", ".join(missing)
        else:
            runnable.append(item)
    used = set().union(*(c.columns for c in runnable)) if runnable else set()
    if any(c.stage > 1 for c in runnable):
        used |= have_txn  # graph patterns read whatever optional columns the input has
    cust_cols = sorted((used & have_cust) - have_txn)
    if cust_cols:
        used = used | {"customer_id"}  # the join key, even when no rule reads it itself
    base = frame.select(sorted(used & have_txn))
    if cust_cols and customers is not None:
        base = base.join(
            customers.lazy().select("customer_id", *cust_cols), on="customer_id", how="left"
        )
    if len(runnable) > 1:  # every plan reads it: made once (graph rules collect it too)
        base = base.collect(engine="streaming" if streaming else "auto").lazy()
    ctx = context or EvalContext()
    plans = [c.plan(base, ctx) for c in runnable]
    results = pl.collect_all(plans, engine="streaming" if streaming else "auto") if plans else []
    hits = {c.rule.id: r.select(list(HIT_SCHEMA)) for c, r in zip(runnable, results, strict=True)}
    return Evaluation(hits, skipped)
