"""A scan from input files to a committed run in the store.

The stages follow DESIGN.md's one direction of flow: ingest -> evaluate -> alerts -> cases ->
store. Each stage is timed; the store write is one transaction.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine import __version__
from engine.alerts import ALERT_SCHEMA, build_alerts
from engine.cases import build_cases
from engine.catalogue import indicator_of
from engine.evaluate import CompiledRule, compile_rule, evaluate
from engine.ingest import Ingested, load_customers, load_fx, read_transactions
from engine.kinds import EvalContext
from engine.lists import load_lists
from engine.spec import load_pack
from engine.store import RunRecord, open_store

__all__ = ["ScanOptions", "ScanResult", "run_scan"]


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything a scan can be told."""

    customers: Path | None = None
    mapping: str = "canonical"
    rules: tuple[Path, ...] = ()
    db: Path = Path("alerts.duckdb")
    streaming: bool = False
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    lists: Path | None = None
    fx: Path | None = None
    base_currency: str = "USD"


@dataclass(frozen=True, slots=True)
class ScanResult:
    """What a scan found and wrote."""

    run_id: str
    ingested: Ingested
    alerts: pl.DataFrame
    cases: pl.DataFrame
    new_alerts: int
    skipped: Mapping[str, str]
    timings: Mapping[str, float]
    rules_run: int


def run_scan(
    inputs: Sequence[str | Path],
    /,
    *,
    options: ScanOptions,
    on_stage: Callable[[str], None] = lambda _: None,
) -> ScanResult:
    """Scan `inputs` with the options' rule pack and write one run to the store.

    Raises:
        InputError, RuleError, StoreError: see `engine.errors`; nothing is written then.
    """
    started = datetime.now(UTC)
    timings: dict[str, float] = {}
    marks: list[tuple[str, float]] = []

    def stage(name: str) -> None:
        now = time.perf_counter()
        if marks:
            timings[marks[-1][0]] = round(now - marks[-1][1], 3)
        marks.append((name, now))
        on_stage(name)

    stage("rules")
    lists = load_lists(options.lists)
    pack = load_pack(*options.rules, overrides=options.params, lists=lists)
    compiled = [compile_rule(r) for r in pack.rules]
    stage("ingest")
    fx = load_fx(options.fx, base_currency=options.base_currency)
    ingested = read_transactions(
        inputs, mapping=options.mapping, fx=fx, streaming=options.streaming
    )
    customers, customer_rejects = (None, None)
    if options.customers:
        customers, customer_rejects = load_customers(options.customers)
    stage("evaluate")
    context = EvalContext(
        customers=None if customers is None else customers.lazy(), lists=lists.tables
    )
    all_alerts, all_evidence, skipped = _run_stages(
        ingested.transactions,
        compiled,
        customers,
        context,
        streaming=options.streaming,
        on_stage=stage,
    )
    stage("cases")
    indicators = {r.id: indicator_of(r) for r in pack.rules}
    cases, case_alerts = build_cases(all_alerts, indicators=indicators)
    stage("store")
    run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    rejects = (
        ingested.rejects
        if customer_rejects is None
        else pl.concat([ingested.rejects, customer_rejects])
    )
    facts = {
        "started_at": started,
        "finished_at": datetime.now(UTC),
        "engine_version": __version__,
        "rule_pack_hash": pack.digest,
        "mode": "streaming" if options.streaming else "batch",
        "inputs": [
            {"path": f.path, "size": f.size, "sha256": f.sha256, "rows": f.rows}
            for f in ingested.files
        ],
        "params": {k: dict(v) for k, v in options.params.items()},
        "rows_read": ingested.rows_read,
        "postings": ingested.postings,
        "accepted": ingested.transactions.height,
        "rejected": rejects.height,
        "alerts": all_alerts.height,
        "timings": timings,
        "notices": skipped,
    }
    with open_store(options.db) as store:
        new = store.write_run(
            RunRecord(run_id, facts, all_alerts, all_evidence, rejects, cases, case_alerts)
        )
    stage("done")
    return ScanResult(
        run_id,
        ingested,
        all_alerts,
        cases,
        new,
        skipped,
        timings,
        len(compiled) - len(skipped),
    )


def _run_stages(
    txns: pl.DataFrame,
    compiled: list[CompiledRule],
    customers: pl.DataFrame | None,
    context: EvalContext,
    *,
    streaming: bool,
    on_stage: Callable[[str], None],
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """Row and window rules first; then graph rules, which may read the first stage's alerts."""
    alert_parts: list[pl.DataFrame] = []
    evidence_parts: list[pl.DataFrame] = []
    skipped: dict[str, str] = {}
    for level in sorted({c.stage for c in compiled}):
        batch = [c for c in compiled if c.stage == level]
        if level > 1:
            on_stage("graph")
            prior = pl.concat(alert_parts) if alert_parts else pl.DataFrame(schema=ALERT_SCHEMA)
            context = dataclasses.replace(context, alerts=prior)
        evaluation = evaluate(
            txns, batch, customers=customers, context=context, streaming=streaming
        )
        skipped |= evaluation.skipped
        for item in batch:
            hits = evaluation.hits.get(item.rule.id)
            if hits is None:
                continue
            entity_type = item.partition_key or "account_id"
            alerts, evidence = build_alerts(item.rule, hits, txns, entity_type=entity_type)
            alert_parts.append(alerts)
            evidence_parts.append(evidence)
    all_alerts = pl.concat(alert_parts) if alert_parts else pl.DataFrame(schema=ALERT_SCHEMA)
    all_evidence = (
        pl.concat(evidence_parts, how="vertical_relaxed")
        if evidence_parts
        else pl.DataFrame(schema={"alert_id": pl.String, "txn_id": pl.String})
    )
    return all_alerts, all_evidence, skipped
