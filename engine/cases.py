"""Cases: no single red flag decides (typologies.md §0.3).

Alerts of one subject within a horizon (default 90 days) form a case, scored by weight,
specificity and how many pillars of the trafficking business model they span. A case
escalates ("HT composite") when it reaches at least two pillars, or at least three
indicators of which one is high-specificity. Alerts whose role hint is `victim` never make a
person the subject of a case: they stay as alerts and join cases only through a network, or
the case of a customer whose other alerts carry a perpetrator's role hint (controller,
launderer, facilitator, buyer).

A case groups the alerts of one customer and of the network it belongs to (DESIGN.md). Given
the run's networks (`graphs.networks`: which alerts seeded which network), the alerts of a
network whose alerts concern two or more entities also form a network case (subject type
`network`), scored and escalated by the same rule over all of them, victims' alerts included:
three victims drained by one controller, or five buyers paying one facilitator, are one
story that no member's own alerts tell. There an indicator counts once per member it was
seen on ([default] reading of §0.3's "three indicators" for a group of people).
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import polars as pl

from engine.schema import TS_UTC

__all__ = ["BUSINESS_PILLARS", "CASE_SCHEMA", "PERPETRATOR_ROLES", "SPECIFICITY", "build_cases"]

PERPETRATOR_ROLES = ("controller", "launderer", "facilitator", "buyer")
"""Role hints that make a customer a case subject whatever else their alerts say."""
BUSINESS_PILLARS = ("recruitment_transport", "exploitation_revenue", "moving_proceeds")
SPECIFICITY = {"high": 2.0, "normal": 1.0, "low": 0.5}  # [default] multipliers, tune on backtests
CASE_SCHEMA: dict[str, pl.DataType] = {
    "case_id": pl.String(),
    "subject_type": pl.String(),
    "subject": pl.String(),
    "score": pl.Float64(),
    "escalated": pl.Boolean(),
    "pillars": pl.String(),
    "n_alerts": pl.Int64(),
    "high_specificity": pl.Int64(),
    "case_start": TS_UTC,
    "case_end": TS_UTC,
    "subject_role": pl.String(),
    "summary": pl.String(),
}


def build_cases(
    alerts: pl.DataFrame,
    /,
    *,
    indicators: dict[str, str] | None = None,
    networks: pl.DataFrame | None = None,
    horizon: timedelta = timedelta(days=90),
    min_pillars: int = 2,
    min_indicators: int = 3,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Group alerts into scored cases; returns (cases, case_alerts).

    Args:
        indicators: rule id -> catalogue indicator, so that variants of one indicator
            (HT-STRUCT-01/-02) count once towards the number of indicators.
        networks: (`network_id`, `alert_id`): the alerts of each network. Networks whose
            alerts concern at least two entities become network cases.
    """
    empty = (
        pl.DataFrame(schema=CASE_SCHEMA),
        pl.DataFrame(schema={"case_id": pl.String, "alert_id": pl.String}),
    )
    if alerts.is_empty():
        return empty
    own = pl.coalesce("customer_id", "entity")
    # a victim-hinted alert counts in the case of a customer who is already a subject through
    # a perpetrator-hinted one (the funnel account that is also cash-only); it never makes one
    perpetrator = (pl.col("subject_role").is_in(PERPETRATOR_ROLES)).any().over(own)
    subjects = alerts.filter((pl.col("subject_role") != "victim") | perpetrator).with_columns(
        own.alias("subject"),
        pl.when(pl.col("customer_id").is_not_null())
        .then(pl.lit("customer"))
        .otherwise(pl.col("entity_type"))
        .alias("subject_type"),
    )
    if networks is not None and networks.height:
        grouped_by_network = (
            alerts.join(networks.select("network_id", "alert_id"), on="alert_id")
            .filter(own.n_unique().over("network_id") >= 2)
            .with_columns(
                pl.col("network_id").alias("subject"), pl.lit("network").alias("subject_type")
            )
            .drop("network_id")
        )
        subjects = pl.concat([subjects, grouped_by_network.select(subjects.columns)])
    if subjects.is_empty():
        return empty
    indicator = pl.col("rule_id").replace_strict(indicators or {}, default=pl.col("rule_id"))
    # in a network case the same red flag on two different members is two observations
    # (three victims' loans drained to one man); on one customer it counts once
    observed = (
        pl.when(pl.col("subject_type") == "network")
        .then(pl.format("{}\x1f{}", indicator, own))
        .otherwise(indicator)
    )
    subjects = subjects.with_columns(observed.alias("_indicator"))
    ordered = subjects.sort("subject", "episode_start", "alert_id")
    prev_end = pl.col("episode_end").cum_max().shift(1).over("subject")
    grouped = ordered.with_columns(
        (prev_end.is_null() | (pl.col("episode_start") - prev_end > horizon))
        .cum_sum()
        .over("subject")
        .alias("_case")
    )
    factor = pl.col("specificity").replace_strict(SPECIFICITY, default=1.0, return_dtype=pl.Float64)
    business = pl.col("pillar").filter(pl.col("pillar").is_in(BUSINESS_PILLARS))
    cases = grouped.group_by("subject", "_case", maintain_order=True).agg(
        pl.col("subject_type").first(),
        (pl.col("weight") * factor).sum().alias("_raw"),
        business.unique().sort().alias("_pillars"),
        pl.col("_indicator").n_unique().alias("_indicators"),
        pl.col("rule_id").unique().sort().alias("_rules"),
        pl.coalesce("customer_id", "entity").n_unique().alias("_entities"),
        (pl.col("specificity") == "high").sum().cast(pl.Int64).alias("high_specificity"),
        pl.len().cast(pl.Int64).alias("n_alerts"),
        pl.col("episode_start").min().alias("case_start"),
        pl.col("episode_end").max().alias("case_end"),
        pl.col("subject_role")  # a network case is about its controllers, not its victims
        .filter(~pl.col("subject_role").is_in(["unknown", "victim"]))
        .mode()
        .sort()
        .first()
        .alias("subject_role"),
        pl.col("alert_id").sort().alias("_alerts"),
    )
    n_pillars = pl.col("_pillars").list.len().cast(pl.Int64)  # unsigned: 0 - 1 would wrap
    cases = cases.with_columns(
        (pl.col("_raw") * (1 + 0.5 * (n_pillars - 1).clip(lower_bound=0))).round(3).alias("score"),
        (
            (n_pillars >= min_pillars)
            | ((pl.col("_indicators") >= min_indicators) & (pl.col("high_specificity") >= 1))
        ).alias("escalated"),
        pl.col("subject_role").fill_null("unknown"),
    )
    ids = [
        hashlib.sha256(f"{s}\x1f{start.isoformat()}".encode()).hexdigest()[:20]
        for s, start in cases.select("subject", "case_start").iter_rows()
    ]
    cases = cases.with_columns(pl.Series("case_id", ids, dtype=pl.String))
    summaries = [
        (f"{n} alerted customers or entities in one money-flow network; " if t == "network" else "")
        + f"{len(r)} indicator(s) ({', '.join(r)}) across {len(p)} pillar(s)"
        + (f": {', '.join(p)}" if p else "")
        for r, p, t, n in cases.select(
            "_rules", "_pillars", "subject_type", "_entities"
        ).iter_rows()
    ]
    cases = cases.with_columns(
        pl.Series("summary", summaries, dtype=pl.String),
        pl.Series("pillars", [json.dumps(p) for p in cases["_pillars"].to_list()], dtype=pl.String),
    )
    case_alerts = cases.select("case_id", pl.col("_alerts").alias("alert_id")).explode("alert_id")
    return cases.select([pl.col(c).cast(t) for c, t in CASE_SCHEMA.items()]).sort(
        "score", "case_id", descending=[True, False]
    ), case_alerts
