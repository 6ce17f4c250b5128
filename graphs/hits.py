"""What graph patterns share: their context, and how their findings become hit rows.

Every pattern returns exactly `engine.schema.HIT_SCHEMA`: `entity`, a half-open window
`(window_start, window_end]` containing the motif, `evidence` (txn ids of the motif) and
`measures` (a JSON object).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import polars as pl

from engine.schema import HIT_SCHEMA

__all__ = ["GraphContext", "empty_hits", "finish_hits", "merge_episodes", "to_float"]


@dataclass(frozen=True, slots=True)
class GraphContext:
    """Node annotations some patterns need besides the transactions.

    Attributes:
        customers: KYC frame (`engine.schema.CUSTOMER_COLUMNS`), for `wage_pool` and
            `shared_beneficiary`.
        alerts: Prior alerts of the run, at least `rule_id`, `entity` and `pillar`, for `hub`
            and for growing networks.
    """

    customers: pl.DataFrame | None = None
    alerts: pl.DataFrame | None = None


def empty_hits() -> pl.DataFrame:
    """A frame with no rows and exactly `HIT_SCHEMA`."""
    return pl.DataFrame(schema=HIT_SCHEMA)


def to_float(expr: pl.Expr) -> pl.Expr:
    """An exact amount (or sum of amounts) as a float, for ratios and dispersion only."""
    return expr.cast(pl.Float64())


def finish_hits(
    found: pl.DataFrame | pl.LazyFrame, /, *, measures: list[str], window: timedelta | None = None
) -> pl.DataFrame:
    """Turn a frame of findings into hit rows.

    Args:
        found: Columns `entity`, `first_ts`, `last_ts`, `evidence` (List[String]) and the
            measure columns.
        measures: Names of the measure columns, written as a JSON object in that order.
        window: When given, the hit window is `(last_ts - window, last_ts]` (the rule's own
            window ending at the motif's last transaction); else `(first_ts - 1us, last_ts]`.

    Returns:
        Hits with exactly `HIT_SCHEMA`, overlapping windows of one entity merged.
    """
    lf = found.lazy()
    start = (
        pl.col("last_ts") - window
        if window is not None
        else pl.col("first_ts") - timedelta(microseconds=1)
    )
    out = lf.select(
        pl.col("entity").cast(pl.String()),
        start.alias("window_start"),
        pl.col("last_ts").alias("window_end"),
        pl.col("evidence").list.unique().list.sort(),
        pl.struct(measures).struct.json_encode().alias("measures"),
    ).collect()
    return merge_episodes(out)


def merge_episodes(hits: pl.DataFrame, /) -> pl.DataFrame:
    """Merge overlapping windows of one entity into one row (evidence united).

    The merged row keeps the measures of its window with the most evidence, so a burst of
    sliding windows over one motif reads as one finding.
    """
    if hits.is_empty():
        return empty_hits()
    ordered = hits.sort("entity", "window_start", "window_end")
    prev_end = pl.col("window_end").cum_max().shift(1).over("entity")
    episodes = ordered.with_columns(
        (prev_end.is_null() | (pl.col("window_start") >= prev_end))
        .cast(pl.UInt32())
        .cum_sum()
        .over("entity")
        .alias("_episode")
    )
    merged = episodes.group_by("entity", "_episode", maintain_order=True).agg(
        pl.col("window_start").min(),
        pl.col("window_end").max(),
        pl.col("evidence").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(),
        pl.col("measures").sort_by(pl.col("evidence").list.len(), maintain_order=True).last(),
    )
    return merged.select(list(HIT_SCHEMA)).cast(HIT_SCHEMA)  # type: ignore[arg-type]
