"""What every rule kind shares: the `Kind` record, the evaluation context, hit helpers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from engine.schema import HIT_SCHEMA

__all__ = [
    "WHOLE_HISTORY",
    "EvalContext",
    "History",
    "Kind",
    "Plan",
    "evidence_in_windows",
    "hits_frame",
    "window_columns",
]


@dataclass(frozen=True, slots=True)
class EvalContext:
    """What a plan may read besides the transactions: KYC and reference tables."""

    customers: pl.LazyFrame | None = None
    lists: Mapping[str, pl.DataFrame] | None = None
    alerts: pl.DataFrame | None = None


Plan = Callable[[pl.LazyFrame, EvalContext], pl.LazyFrame]


@dataclass(frozen=True, slots=True)
class History:
    """How much past a rule's hits depend on, for incremental scans.

    Attributes:
        reach: how far before a new posting a hit touching it may start (its window span);
            None means the whole history.
        extra: history before a hit's own window start that its measures read (a profile's
            baseline, a graph pattern's novelty period).
    """

    reach: timedelta | None
    extra: timedelta = timedelta(0)


WHOLE_HISTORY = History(None)


@dataclass(frozen=True, slots=True)
class Kind:
    """A rule kind: its YAML keys, its parser, its plan builder and its partition key."""

    name: str
    keys: tuple[str, ...]
    parse: Callable[[Any, Mapping[str, Any]], Any]
    build: Callable[[Any], Plan]
    partition_key: Callable[[Any], str | None]
    stage: int = 1  # 2: runs after the stage-1 rules and may read their alerts
    history: Callable[[Any], History] = lambda logic: WHOLE_HISTORY


def hits_frame(frame: pl.LazyFrame, measure_names: list[str]) -> pl.LazyFrame:
    """Project trigger rows (entity, window_start, window_end, evidence, measures) to HIT_SCHEMA."""
    schema = frame.collect_schema()
    as_float = [
        pl.col(n).cast(pl.Float64) if isinstance(schema[n], pl.Decimal) else pl.col(n)
        for n in measure_names
    ]
    measures = pl.struct(as_float).struct.json_encode() if measure_names else pl.lit("{}")
    return frame.select(
        pl.col("entity").cast(pl.String),
        pl.col("window_start").cast(HIT_SCHEMA["window_start"]),
        pl.col("window_end").cast(HIT_SCHEMA["window_end"]),
        pl.col("evidence").cast(HIT_SCHEMA["evidence"]),
        measures.alias("measures"),
    )


def evidence_in_windows(triggers: pl.LazyFrame, events: pl.LazyFrame, *, by: str) -> pl.LazyFrame:
    """Attach the ids of `events` of the same entity inside each trigger's (start, end] window.

    Triggers are few, so a join on the entity followed by a time filter is cheap.
    """
    ev = events.select(pl.col(by).alias("entity"), pl.col("ts_utc").alias("_ts"), "txn_id")
    keyed = triggers.with_row_index("_hit")
    joined = (
        keyed.select("_hit", "entity", "window_start", "window_end")
        .join(ev, on="entity", how="inner")
        .filter((pl.col("_ts") > pl.col("window_start")) & (pl.col("_ts") <= pl.col("window_end")))
        .group_by("_hit")
        .agg(pl.col("txn_id").unique().sort().alias("evidence"))
    )
    return keyed.join(joined, on="_hit", how="left").drop("_hit")


def window_columns(ts: str, span: timedelta) -> list[pl.Expr]:
    """(ts - span, ts] as window_start / window_end."""
    return [(pl.col(ts) - span).alias("window_start"), pl.col(ts).alias("window_end")]
