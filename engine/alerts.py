"""Hits -> alerts: one alert per (rule, entity, episode), with evidence and an explanation.

Overlapping triggering windows of one rule and entity merge into one episode (windows are
half-open, so two that only touch stay apart). An alert id is a hash of rule id, rule
version, entity and episode start, so the same input yields the same ids.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from engine.schema import HIT_SCHEMA, TS_UTC
from engine.spec import Rule

if TYPE_CHECKING:
    from engine.evaluate import CompiledRule

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_SCHEMA",
    "EVIDENCE_COLUMNS",
    "alerts_of",
    "build_alerts",
    "empty_evidence",
    "explain",
]

EVIDENCE_COLUMNS = (
    "txn_id",
    "account_id",
    "customer_id",
    "ts_utc",
    "direction",
    "amount",
    "currency",
    "amount_base",
    "channel",
    "counterparty_account_id",
    "counterparty_name",
    "reference_text",
)
ALERT_SCHEMA: dict[str, pl.DataType] = {
    **{
        c: pl.String()
        for c in ("alert_id", "rule_id", "rule_version", "kind", "title", "pillar", "severity")
    },
    "weight": pl.Float64(),
    **{
        c: pl.String()
        for c in ("specificity", "subject_role", "entity_type", "entity", "customer_id")
    },
    "episode_start": TS_UTC,
    "episode_end": TS_UTC,
    # the episode's window envelope and its peak hit, so a later incremental run can extend it
    "window_start": TS_UTC,
    "window_end": TS_UTC,
    "peak_start": TS_UTC,
    "peak_end": TS_UTC,
    **{c: pl.String() for c in ("measures", "thresholds", "explanation", "references")},
}
ALERT_COLUMNS = tuple(ALERT_SCHEMA)
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 or value != round(value, 2) else f"{value:g}"
    return str(value)


def explain(rule: Rule, entity: str, measures: dict[str, Any], start: Any, end: Any) -> str:
    """Plain language: what was measured, beside the thresholds it crossed."""
    template = rule.explain
    if template:
        body = _PLACEHOLDER.sub(lambda m: _fmt(measures.get(m.group(1), m.group(0))), template)
    else:
        body = ", ".join(
            f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in measures.items() if v is not None
        )
    limits = ", ".join(
        f"{name} {_fmt(p.value)}{' ' + p.currency if p.currency else ''}"
        f" [{'src: ' + p.source if p.source else 'default'}]"
        for name, p in rule.params.items()
        if name in rule.used_params
    )
    span = f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"
    text = f"{rule.title}: {entity}, {span}: {body}."
    return text + (f" Thresholds: {limits}." if limits else "")


def _alert_id(rule: Rule, entity: str, start: Any) -> str:
    key = f"{rule.id}\x1f{rule.version}\x1f{entity}\x1f{start.isoformat()}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def build_alerts(
    rule: Rule,
    hits: pl.DataFrame,
    txns: pl.DataFrame,
    *,
    entity_type: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Merge a rule's hits into episodes (hits of one entity whose windows overlap).

    Returns (alerts, alert_transactions). An episode's measures are those of its last hit in
    (window_start, window_end, measures) order, its peak.
    """
    hits = hits.select(list(HIT_SCHEMA))
    if hits.is_empty():
        return _empty_alerts(), empty_evidence(txns)
    ordered = hits.sort("entity", "window_start", "window_end", "measures", nulls_last=False)
    running_end = pl.col("window_end").cum_max().shift(1).over("entity")
    episodes = ordered.with_columns(
        (running_end.is_null() | (pl.col("window_start") >= running_end))
        .cum_sum()
        .over("entity")
        .alias("_episode")
    )
    has_measures = pl.col("measures").is_not_null()
    grouped = episodes.group_by("entity", "_episode", maintain_order=True).agg(
        pl.col("evidence")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique()
        .sort()
        .alias("evidence"),
        pl.col("window_start").min(),
        pl.col("window_end").max(),
        pl.col("measures").filter(has_measures).last(),
        pl.col("window_start").filter(has_measures).last().alias("peak_start"),
        pl.col("window_end").filter(has_measures).last().alias("peak_end"),
    )
    present = [c for c in EVIDENCE_COLUMNS if c in txns.columns]
    details = txns.select(present)
    exploded = grouped.with_row_index("_a").explode("evidence").rename({"evidence": "txn_id"})
    joined = exploded.join(details, on="txn_id", how="left")
    spans = joined.group_by("_a").agg(
        pl.col("ts_utc").min().alias("episode_start"),
        pl.col("ts_utc").max().alias("episode_end"),
        pl.col("customer_id").drop_nulls().first().alias("_cust")
        if "customer_id" in details.columns
        else pl.lit(None, pl.String).alias("_cust"),
    )
    merged = grouped.with_row_index("_a").join(spans, on="_a", how="left").sort("_a")
    rows = []
    thresholds = json.dumps(
        {
            n: {"value": p.value, "currency": p.currency, "source": p.source}
            for n, p in rule.params.items()
            if n in rule.used_params
        },
        default=str,
    )
    for row in merged.iter_rows(named=True):  # one Python step per alert, never per transaction
        start = row["episode_start"] or row["window_end"]
        end = row["episode_end"] or row["window_end"]
        measures = json.loads(row["measures"] or "{}")
        customer = row["_cust"] if entity_type in ("account_id", "customer_id") else None
        if entity_type == "customer_id":
            customer = row["entity"]
        rows.append(
            {
                "alert_id": _alert_id(rule, row["entity"], start),
                "rule_id": rule.id,
                "rule_version": rule.version,
                "kind": rule.kind,
                "title": rule.title,
                "pillar": rule.pillar,
                "severity": rule.severity,
                "weight": rule.weight,
                "specificity": rule.specificity,
                "subject_role": rule.subject_role,
                "entity_type": entity_type,
                "entity": row["entity"],
                "customer_id": customer,
                "episode_start": start,
                "episode_end": end,
                "window_start": row["window_start"],
                "window_end": row["window_end"],
                "peak_start": row["peak_start"],
                "peak_end": row["peak_end"],
                "measures": row["measures"],
                "thresholds": thresholds,
                "explanation": explain(rule, row["entity"], measures, start, end),
                "references": json.dumps(list(rule.references)),
                "_a": row["_a"],
            }
        )
    alerts = pl.DataFrame(
        rows,
        schema_overrides={
            c: TS_UTC
            for c in (
                "episode_start",
                "episode_end",
                "window_start",
                "window_end",
                "peak_start",
                "peak_end",
            )
        },
    )
    evidence = (
        exploded.join(alerts.select("_a", "alert_id"), on="_a")
        .select("alert_id", "txn_id")
        .join(details.select(present), on="txn_id", how="inner")
        .unique(["alert_id", "txn_id"], keep="first", maintain_order=True)
    )
    for column in EVIDENCE_COLUMNS:
        if column not in evidence.columns:
            evidence = evidence.with_columns(pl.lit(None, pl.String).alias(column))
    typed = alerts.drop("_a").select([pl.col(c).cast(t) for c, t in ALERT_SCHEMA.items()])
    return typed, evidence.select("alert_id", *EVIDENCE_COLUMNS)


def _empty_alerts() -> pl.DataFrame:
    return pl.DataFrame(schema=ALERT_SCHEMA)


def alerts_of(
    rules: Sequence[CompiledRule],
    hits: Mapping[str, pl.DataFrame],
    txns: pl.DataFrame,
    /,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(alerts, evidence) of every rule that has hits, in the rules' order.

    The postings the hits cite are found once, in one small frame, not in all transactions
    once per rule.
    """
    cited = pl.concat(
        [h.select(pl.col("evidence").explode()) for h in hits.values()]
        + [pl.DataFrame(schema={"evidence": pl.String})]
    )
    evidenced = txns.join(cited.unique().rename({"evidence": "txn_id"}), on="txn_id", how="semi")
    alert_parts, evidence_parts = [_empty_alerts()], [empty_evidence(txns)]
    for item in rules:
        found = hits.get(item.rule.id)
        if found is None:
            continue
        alerts, evidence = build_alerts(
            item.rule,
            found,
            evidenced,
            entity_type=item.partition_key or "account_id",
        )
        alert_parts.append(alerts)
        evidence_parts.append(evidence)
    return pl.concat(alert_parts), pl.concat(evidence_parts, how="vertical_relaxed")


def empty_evidence(txns: pl.DataFrame) -> pl.DataFrame:
    """No evidence rows, typed as the evidence of alerts on `txns` would be."""
    return pl.DataFrame(
        schema={
            "alert_id": pl.String,
            **{c: txns.schema.get(c, pl.String) for c in EVIDENCE_COLUMNS},
        }
    )
