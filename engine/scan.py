"""A scan from input files to a committed run in the store.

The stages follow DESIGN.md's one direction of flow: ingest -> evaluate -> alerts -> cases ->
store. Each stage is timed; the store write is one transaction.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from engine import __version__
from engine.alerts import ALERT_SCHEMA, alerts_of, empty_evidence
from engine.cases import build_cases
from engine.catalogue import indicator_of
from engine.evaluate import CompiledRule, compile_rule, evaluate, scan_columns
from engine.incremental import EVERYTHING, Recompute, complete_hits, recompute, rule_history
from engine.ingest import Ingested, load_customers, load_fx, read_transactions
from engine.kinds import EvalContext
from engine.lists import load_lists
from engine.schema import TRANSACTION_COLUMNS
from engine.spec import load_pack
from engine.stages import Level, run_levels
from engine.store import RunRecord, Store, open_store

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
    incremental: bool = False
    engine: str = "local"  # or "ray": partition-safe rules as Ray tasks (engine.ray_engine)
    buckets: int = 8  # with engine "ray": hash buckets per partition key
    address: str | None = None  # with engine "ray": a cluster to join (None: start one here)


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
    # only the columns this pack reads; an incremental run keeps all, as later runs read them
    keep = None if options.incremental else scan_columns(compiled)
    ingested = read_transactions(
        inputs, mapping=options.mapping, fx=fx, streaming=options.streaming, columns=keep
    )
    customers, customer_rejects = (None, None)
    if options.customers:
        customers, customer_rejects = load_customers(options.customers)
    with contextlib.ExitStack() as hold:
        store = hold.enter_context(open_store(options.db)) if options.incremental else None
        txns, state, prior = ingested.transactions, None, None
        if store is not None:
            stage("state")
            txns, state, prior, late = _with_state(store, ingested.transactions, compiled)
            ingested = dataclasses.replace(
                ingested,
                transactions=state,
                rejects=pl.concat([ingested.rejects, late], how="vertical_relaxed"),
            )
        stage("evaluate")
        context = EvalContext(
            customers=None if customers is None else customers.lazy(), lists=lists.tables
        )
        if options.engine == "ray":
            from engine.ray_engine import run_stages_on_ray

            all_alerts, all_evidence, skipped = run_stages_on_ray(
                txns, compiled, customers, context, buckets=options.buckets,
                address=options.address, streaming=options.streaming,
                incremental=prior is not None, on_stage=stage, progress=on_stage,
            )  # fmt: skip
        else:
            all_alerts, all_evidence, skipped = _run_stages(
                txns, compiled, customers, context, streaming=options.streaming, on_stage=stage,
                prior=prior,
            )  # fmt: skip
        stage("networks")
        retired: tuple[str, ...] = ()
        case_input, case_evidence, network_txns = all_alerts, all_evidence, txns
        if store is not None and prior is not None:
            # cases and networks are recomputed over every stored alert, not just this day's
            retired = prior.retired(all_alerts)
            case_input = prior.current(all_alerts)
            others = case_input.filter(~pl.col("alert_id").is_in(all_alerts["alert_id"].implode()))
            case_evidence = pl.concat(
                [
                    prior.evidence.join(others.select("alert_id"), on="alert_id", how="semi"),
                    all_evidence,
                ],
                how="diagonal_relaxed",
            ).select("alert_id", "account_id")
            # networks follow flows back from the earliest stored alert, beyond the state
            # the rules need: all stored postings (already loaded when a rule needed them)
            if not prior.whole_state:
                network_txns = _all_postings(store, ingested.transactions)
        networks, network_alerts = _networks(network_txns, case_input, case_evidence)
        stage("cases")
        indicators = {r.id: indicator_of(r) for r in pack.rules}
        cases, case_alerts = build_cases(case_input, indicators=indicators, networks=network_alerts)
        stage("store")
        run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        rejects = (
            ingested.rejects
            if customer_rejects is None
            else pl.concat([ingested.rejects, customer_rejects])
        )
        mode = "incremental" if options.incremental else "batch"
        facts = {
            "started_at": started,
            "finished_at": datetime.now(UTC),
            "engine_version": __version__,
            "rule_pack_hash": pack.digest,
            "mode": "streaming" if options.streaming else mode,
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
        record = RunRecord(
            run_id, facts, all_alerts, all_evidence, rejects, cases, case_alerts,
            networks=networks, state=state, retired=retired, replace_cases=store is not None,
        )  # fmt: skip
        if store is not None:
            new = store.write_run(record)
        else:
            with open_store(options.db) as writer:
                new = writer.write_run(record)
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


def _networks(
    txns: pl.DataFrame, alerts: pl.DataFrame, evidence: pl.DataFrame
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame | None]:
    """Networks grown along money flow from the alerted accounts (graphs/), as store tables,
    and which alerts belong to which network (for network cases)."""
    from graphs.networks import grow_networks

    if alerts.is_empty() or "counterparty_account_id" not in txns.columns:
        return {}, None
    found = grow_networks(txns, alerts, evidence=evidence)
    tables = {
        "networks": found.networks,
        "network_members": found.members,
        "network_edges": found.edges,
    }
    return tables, found.alerts


def _all_postings(store: Store, new: pl.DataFrame) -> pl.DataFrame:
    """Every stored posting and the new ones, in the columns network growth reads."""
    from graphs.networks import NETWORK_COLUMNS

    stored = store.read_state(None, columns=NETWORK_COLUMNS)
    fresh = new.select([c for c in NETWORK_COLUMNS if c in new.columns])
    if stored.is_empty():
        return fresh
    return pl.concat([stored, fresh], how="diagonal_relaxed").sort("ts_utc", "txn_id")


@dataclasses.dataclass(frozen=True, slots=True)
class _Prior:
    """What an incremental run carries from the store: what it recomputes of each rule
    (`engine.incremental.recompute`) and every stored alert with the accounts it cites.

    A stored alert is *in reach* when its rule recomputes it: this run re-emits it or
    retires it. Alerts of rules not in the pack are left as they are.
    """

    plans: Mapping[str, Recompute]
    alerts: pl.DataFrame
    evidence: pl.DataFrame

    @property
    def whole_state(self) -> bool:
        """Did some rule need the whole state (so it was all read)?"""
        return any(plan.state_from is None for plan in self.plans.values())

    def in_reach(self) -> pl.Expr:
        """True for the stored alerts this run's hits replace."""
        everything = [r for r, plan in self.plans.items() if plan.since is None]
        since = pl.col("rule_id").replace_strict(
            {r: plan.since for r, plan in self.plans.items() if plan.since is not None},
            default=None,
            return_dtype=self.alerts.schema["window_end"],
        )
        return pl.col("rule_id").is_in(everything) | (pl.col("window_end") > since).fill_null(False)

    def retired(self, kept: pl.DataFrame) -> tuple[str, ...]:
        """Stored alerts in reach that this run's alerts (`kept`) no longer include."""
        gone = self.alerts.filter(
            self.in_reach(), ~pl.col("alert_id").is_in(kept["alert_id"].implode())
        )
        return tuple(sorted(gone["alert_id"].to_list()))

    def current(self, new: pl.DataFrame, rule_ids: Collection[str] | None = None) -> pl.DataFrame:
        """The alerts a full rescan would hold: stored ones out of reach, and `new` (of the
        rules `rule_ids`, when given)."""
        ids = new["alert_id"].implode()
        kept = self.alerts.filter(~self.in_reach(), ~pl.col("alert_id").is_in(ids))
        if rule_ids is not None:
            kept = kept.filter(pl.col("rule_id").is_in(list(rule_ids)))
        return pl.concat([kept.select(new.columns).cast(new.schema), new])


def _with_state(
    store: Store, new: pl.DataFrame, compiled: list[CompiledRule]
) -> tuple[pl.DataFrame, pl.DataFrame, _Prior, pl.DataFrame]:
    """(state + new postings to evaluate, the new postings to keep, prior alerts, rejects).

    The state is read from the earliest posting any rule needs, in the columns the scan
    reads (a batch scan's ingest keeps the same). A new posting whose txn_id is already in
    the state read is rejected as a duplicate.
    """
    floor = store.state_floor()
    alerts, evidence = store.stored_alerts()
    plans: dict[str, Recompute] = dict.fromkeys((c.rule.id for c in compiled), EVERYTHING)
    if floor is not None and not new.is_empty():
        first: datetime = new["ts_utc"].min()  # type: ignore[assignment]
        windows = alerts.select("rule_id", "window_start", "window_end")
        plans = {
            c.rule.id: recompute(
                rule_history(c), first, floor, windows.filter(pl.col("rule_id") == c.rule.id)
            )
            for c in compiled
        }
    starts = [plan.state_from for plan in plans.values()]
    earliest = None if None in starts or not starts else min(s for s in starts if s is not None)
    columns = scan_columns(compiled)
    state = (
        store.read_state(earliest, columns=sorted(columns)) if floor is not None else pl.DataFrame()
    )
    seen = state["txn_id"].implode() if state.height else pl.Series([], dtype=pl.String).implode()
    again = new.filter(pl.col("txn_id").is_in(seen))
    fresh = new.filter(~pl.col("txn_id").is_in(seen))
    late = again.select(
        pl.lit("(state)").alias("file"),
        pl.lit(None, pl.Int64).alias("line"),
        pl.lit("txn_id").alias("field"),
        pl.format("duplicate txn_id '{}' (already scanned)", pl.col("txn_id")).alias("reason"),
        pl.lit(None, pl.String).alias("raw"),
    )
    scanned = fresh.select([c for c in fresh.columns if c in columns])
    frame = scanned if state.is_empty() else pl.concat([state, scanned], how="diagonal_relaxed")
    frame = frame.select(
        [pl.col(c).cast(TRANSACTION_COLUMNS[c]) for c in TRANSACTION_COLUMNS if c in frame.columns]
    ).sort("ts_utc", "txn_id")
    return frame, fresh, _Prior(plans, alerts, evidence), late


def _run_stages(
    txns: pl.DataFrame,
    compiled: list[CompiledRule],
    customers: pl.DataFrame | None,
    context: EvalContext,
    *,
    streaming: bool,
    on_stage: Callable[[str], None],
    prior: _Prior | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
    """Every level of rules in one process; an incremental run evaluates each rule over its
    own stretch of the state and keeps the hits it recomputes in full."""

    def run_level(batch: list[CompiledRule], context: EvalContext) -> Level:
        by_start: dict[datetime | None, list[CompiledRule]] = {}
        for item in batch:
            start = None if prior is None else prior.plans[item.rule.id].state_from
            by_start.setdefault(start, []).append(item)
        hits: dict[str, pl.DataFrame] = {}
        skipped: dict[str, str] = {}
        for start, group in by_start.items():
            frame = txns if start is None else txns.filter(pl.col("ts_utc") >= start)
            evaluation = evaluate(
                frame, group, customers=customers, context=context, streaming=streaming
            )
            skipped |= evaluation.skipped
            hits |= evaluation.hits
        if prior is not None:
            hits = {rule: complete_hits(h, prior.plans[rule].since) for rule, h in hits.items()}
        alerts, evidence = alerts_of(batch, hits, txns)
        return Level(alerts, evidence, skipped)

    # an incremental run's later levels read the earlier levels' alerts over all days
    earlier = None if prior is None else prior.current
    levels = run_levels(compiled, context, run_level, earlier=earlier, on_stage=on_stage)
    all_alerts = pl.concat([pl.DataFrame(schema=ALERT_SCHEMA), *(x.alerts for x in levels)])
    all_evidence = pl.concat(
        [empty_evidence(txns), *(x.evidence for x in levels)], how="vertical_relaxed"
    )
    skipped = {k: v for x in levels for k, v in x.skipped.items()}
    return all_alerts, all_evidence, skipped
