"""What the CLI prints: scan summaries and stored alerts, runs and cases as tables, CSV or JSON.

Reads go through `engine.store` with parameterised SQL only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from engine.errors import InputError
from engine.store import open_store

__all__ = ["emit", "print_scan_summary", "query_alerts", "query_cases", "query_runs"]


def _limit(sql: str, params: list[Any], limit: int) -> tuple[str, list[Any]]:
    if limit > 0:
        return sql + " LIMIT ?", [*params, limit]
    return sql, params


def query_alerts(
    db: Path,
    *,
    rule: str | None = None,
    severity: str | None = None,
    account: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 50,
) -> pl.DataFrame:
    """Stored alerts matching the filters, newest episode first."""
    where, params = ["TRUE"], []
    if rule:
        where.append("rule_id = ?")
        params.append(rule)
    if severity:
        where.append("severity = ?")
        params.append(severity)
    if account:
        where.append("(entity = ? OR customer_id = ?)")
        params += [account, account]
    if since:
        where.append("episode_end >= CAST(? AS TIMESTAMPTZ)")
        params.append(since)
    if until:
        where.append("episode_start < CAST(? AS TIMESTAMPTZ)")
        params.append(until)
    sql = (
        # fixed fragments from this function; every value is a parameter
        "SELECT alert_id, rule_id, severity, entity, customer_id, subject_role, episode_start, "  # noqa: S608
        "episode_end, explanation FROM alerts WHERE "
        + " AND ".join(where)
        + " ORDER BY episode_end DESC, alert_id"
    )
    with open_store(db, read_only=True) as store:
        return store.query(*_limit(sql, params, limit))


def query_runs(db: Path) -> pl.DataFrame:
    """Every run, newest first."""
    with open_store(db, read_only=True) as store:
        return store.query(
            "SELECT run_id, started_at, mode, rows_read, accepted, rejected, alerts, new_alerts, "
            "rule_pack_hash, engine_version FROM runs ORDER BY started_at DESC"
        )


def query_cases(db: Path, *, escalated: bool = False, limit: int = 50) -> pl.DataFrame:
    """Cases by score."""
    sql = (
        "SELECT case_id, subject, subject_role, score, escalated, n_alerts, case_start, case_end, "
        "summary FROM cases WHERE (? = FALSE OR escalated) ORDER BY score DESC, case_id"
    )
    with open_store(db, read_only=True) as store:
        return store.query(*_limit(sql, [escalated], limit))


def emit(console: Console, frame: pl.DataFrame, fmt: str, *, title: str) -> None:
    """Print a frame as a table, CSV or JSON (CSV and JSON go to stdout unstyled)."""
    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
    elif fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
    elif fmt == "table":
        table = Table(title=f"{title} ({frame.height})")
        for column in frame.columns:
            table.add_column(column, overflow="fold")
        for row in frame.iter_rows():
            table.add_row(*["" if v is None else str(v) for v in row])
        console.print(table)
    else:
        raise InputError(f"--format {fmt}: use table, csv or json")


def print_scan_summary(console: Console, result: Any, db: Path) -> None:
    """The end-of-scan summary: reconciliation, alerts per rule, cases, notices, timings."""
    ing = result.ingested
    console.print(
        f"[bold]read[/] {ing.rows_read:,} rows from {len(ing.files)} file(s) -> "
        f"{ing.postings:,} postings = {ing.transactions.height:,} accepted"
        f" + {ing.rejects.height:,} rejected"
    )
    if ing.rejects.height:
        top = ing.rejects.group_by("field", "reason").len().sort("len", descending=True).head(5)
        for field, reason, n in top.iter_rows():
            console.print(f"  rejected {n:,}: {field}: {reason}", markup=False)
    table = Table(title=f"alerts by rule ({result.alerts.height:,}, {result.new_alerts:,} new)")
    for column in ("rule", "title", "severity", "alerts"):
        table.add_column(column)
    if result.alerts.height:
        counts = (
            result.alerts.group_by("rule_id", "title", "severity")
            .len()
            .sort("len", "rule_id", descending=[True, False])
        )
        for rule_id, title, severity, n in counts.iter_rows():
            table.add_row(rule_id, title, severity, f"{n:,}")
    console.print(table)
    cases = result.cases
    escalated = int(cases["escalated"].sum()) if cases.height else 0
    console.print(f"[bold]cases[/] {cases.height:,} ({escalated:,} escalated)")
    for rule_id, why in sorted(result.skipped.items()):
        console.print(f"  skipped {rule_id}: {why}", markup=False)
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items())
    console.print(f"[bold]{result.rules_run}[/] rules run; {timing}")
    console.print(f"written to {db} (run {result.run_id})", markup=False)
