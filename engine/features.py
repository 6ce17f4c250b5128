"""Computing a feature set: one row of features per account over a window, in Polars.

SQL aggregates run as one group_by per distinct `where`; built-ins (pass-through, dwell time,
velocity) are Polars plans over the window's rows in time order (as-of joins on running
totals); expressions over features come last. Everything is joined on the account, and no
Python loop touches a row. Every feature comes out as a finite Float64 (`fill` where it is
undefined, such as a share of nothing).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from engine.featureset import BUILTIN_ARGS, ENTITY, WINDOW_DAYS, Feature, FeatureSet, Segment
from engine.schema import TRANSACTION_COLUMNS

__all__ = ["BUILTINS", "compute_features", "evidence_rows", "percentile_words", "window_bounds"]

# (the window's rows, the feature's args, window start, window end) -> account_id, value
BuiltinPlan = Callable[[pl.LazyFrame, Mapping[str, Any], datetime, datetime], pl.LazyFrame]


def _cents() -> pl.Expr:
    """Money as integer cents: sums are exact, so they do not depend on the order of rows."""
    return (pl.col("amount_base").cast(pl.Float64) * 100).round().cast(pl.Int64)


def _credits_and_outflow(rows: pl.LazyFrame, args: Mapping[str, Any]) -> pl.LazyFrame:
    """Each credit (of at least `min_amount`) with the account's money out up to and including
    its instant (`_before`) and, when `within` is given, up to `within` later (`_after`).

    One stream per account of debits and probes, sorted by time with the debits of an
    instant before its probes; the running total of debits at a probe is what it asks for.
    """
    cents = _cents()
    credits = rows.filter(
        (pl.col("direction") == "in") & (cents >= round(float(args["min_amount"]) * 100))
    ).select(ENTITY, "ts_utc", "txn_id", cents.alias("_a"))
    debits = rows.filter(pl.col("direction") == "out").select(
        ENTITY,
        pl.col("ts_utc").alias("_at"),
        pl.lit(0, pl.Int8).alias("_probe"),
        cents.alias("_out"),
        pl.lit(None, pl.String).alias("txn_id"),
    )
    probes = [
        credits.select(
            ENTITY,
            pl.col("ts_utc").alias("_at"),
            pl.lit(1, pl.Int8).alias("_probe"),
            pl.lit(0, pl.Int64).alias("_out"),
            "txn_id",
        )
    ]
    within: timedelta | None = args.get("within")
    if within is not None:
        probes.append(
            probes[0].with_columns(
                (pl.col("_at") + within).alias("_at"), pl.lit(2, pl.Int8).alias("_probe")
            )
        )
    stream = (
        pl.concat([debits, *probes])
        .sort(ENTITY, "_at", "_probe")
        .with_columns(pl.col("_out").cum_sum().over(ENTITY).alias("_cum"))
        .filter(pl.col("_probe") > 0)
    )
    before = stream.filter(pl.col("_probe") == 1).select("txn_id", pl.col("_cum").alias("_before"))
    out = credits.join(before, on="txn_id", how="left")
    if within is not None:
        after = stream.filter(pl.col("_probe") == 2).select(
            "txn_id", pl.col("_cum").alias("_after")
        )
        out = out.join(after, on="txn_id", how="left")
    return out


def _pass_through(
    rows: pl.LazyFrame, args: Mapping[str, Any], start: datetime, end: datetime
) -> pl.LazyFrame:
    credits = _credits_and_outflow(rows, args)
    # money out in (t, t + within] after each credit, at most the credit itself
    passed = pl.min_horizontal(pl.col("_after") - pl.col("_before"), pl.col("_a"))
    return credits.group_by(ENTITY).agg(
        (passed.sum().cast(pl.Float64) / pl.col("_a").sum().cast(pl.Float64)).alias("value")
    )


def _dwell_hours(
    rows: pl.LazyFrame, args: Mapping[str, Any], start: datetime, end: datetime
) -> pl.LazyFrame:
    cap: timedelta = args["cap"] or (end - start)
    credits = _credits_and_outflow(rows, {**args, "within": None})
    targets = credits.select(
        ENTITY,
        "txn_id",
        "ts_utc",
        (pl.col("_before") + (pl.col("_a") * float(args["share"])).ceil().cast(pl.Int64)).alias(
            "_key"
        ),
        pl.lit(0, pl.Int8).alias("_debit"),
        pl.lit(None, TRANSACTION_COLUMNS["ts_utc"]).alias("_next"),
    )
    debits = (
        rows.filter(pl.col("direction") == "out")
        .sort(ENTITY, "ts_utc", "txn_id")
        .select(
            ENTITY,
            pl.lit(None, pl.String).alias("txn_id"),
            pl.lit(None, TRANSACTION_COLUMNS["ts_utc"]).alias("ts_utc"),
            _cents().cum_sum().over(ENTITY).alias("_key"),
            pl.lit(1, pl.Int8).alias("_debit"),
            pl.col("ts_utc").alias("_next"),
        )
    )
    # in order of money out: the first debit whose running total reaches a credit's target
    # is the moment `share` of that credit has left (a debit exactly on target counts)
    reached = (
        pl.concat([targets, debits])
        .sort(ENTITY, "_key", "_debit")
        .with_columns(pl.col("_next").backward_fill().over(ENTITY))
        .filter(pl.col("_debit") == 0)
    )
    hours = (pl.col("_next") - pl.col("ts_utc")).dt.total_microseconds() / 3.6e9
    limit = cap.total_seconds() / 3600
    return reached.group_by(ENTITY).agg(
        hours.fill_null(limit).clip(upper_bound=limit).median().alias("value")
    )


def _velocity_change(
    rows: pl.LazyFrame, args: Mapping[str, Any], start: datetime, end: datetime
) -> pl.LazyFrame:
    recent: timedelta = min(args["recent"], end - start)
    earlier_days = (end - recent - start).total_seconds() / 86400
    recent_days = recent.total_seconds() / 86400
    if earlier_days <= 0:  # no history before the recent part: no change to measure
        return rows.group_by(ENTITY).agg(pl.lit(None, pl.Float64).alias("value"))
    measure = {
        "credits": pl.when(pl.col("direction") == "in").then(_cents()).otherwise(0),
        "debits": pl.when(pl.col("direction") == "out").then(_cents()).otherwise(0),
        "count": pl.lit(100, pl.Int64),
    }[str(args["of"])]
    is_recent = pl.col("ts_utc") > end - recent
    prior = float(args["prior"])
    recent_rate = measure.filter(is_recent).sum().cast(pl.Float64) / 100 / recent_days
    earlier_rate = measure.filter(~is_recent).sum().cast(pl.Float64) / 100 / earlier_days
    return rows.group_by(ENTITY).agg(
        ((recent_rate + prior) / (earlier_rate + prior)).alias("value")
    )


BUILTINS: dict[str, BuiltinPlan] = {
    "pass_through": _pass_through,
    "dwell_hours": _dwell_hours,
    "velocity_change": _velocity_change,
}
assert set(BUILTINS) == set(BUILTIN_ARGS), "every built-in has a grammar and a plan"


def window_bounds(
    frame: pl.LazyFrame, window: timedelta, *, end: datetime | None = None
) -> tuple[datetime, datetime] | None:
    """`(start, end]` of a feature window over `frame`: it ends at `end` (default: the last
    transaction) and starts `window` earlier, or just before the first transaction when the
    data is shorter than that. None when there is no data.
    """
    first, last = (
        frame.select(pl.col("ts_utc").min().alias("first"), pl.col("ts_utc").max().alias("last"))
        .collect()
        .row(0)
    )
    end = end or last
    if not isinstance(first, datetime) or not isinstance(end, datetime):
        return None
    return max(end - window, first - timedelta(microseconds=1)), end


def _segment_expr(segments: tuple[Segment, ...]) -> pl.Expr:
    if not segments:
        return pl.lit("all", pl.String)
    chain: Any = pl
    for s in segments:
        chain = chain.when(s.where.fill_null(False)).then(pl.lit(s.name))
    expr: pl.Expr = chain.otherwise(pl.lit(None, pl.String))
    return expr


def compute_features(
    frame: pl.LazyFrame, fs: FeatureSet, /, *, end: datetime | None = None
) -> pl.DataFrame:
    """One row per account active in the window: `account_id`, `segment`, `window_start`,
    `window_end` and every feature of `fs` (Float64, finite, `fill` where undefined).

    The window is `(start, end]` of `window_bounds`; `frame` carries the transaction columns
    and the customer columns the set uses.
    """
    bounds = window_bounds(frame, fs.window, end=end)
    if bounds is None:
        return pl.DataFrame(
            schema={
                ENTITY: pl.String(),
                "segment": pl.String(),
                "window_start": TRANSACTION_COLUMNS["ts_utc"],
                "window_end": TRANSACTION_COLUMNS["ts_utc"],
                **{f.name: pl.Float64() for f in fs.features},
            }
        )
    start, end = bounds
    days = pl.lit((end - start).total_seconds() / 86400).alias(WINDOW_DAYS)
    rows = (
        frame.filter(
            (pl.col("ts_utc") > start) & (pl.col("ts_utc") <= end) & pl.col(ENTITY).is_not_null()
        )
        .with_columns(days)
        .cache()
    )
    by_where: dict[str, tuple[pl.Expr, list[pl.Expr]]] = {}
    base_aggs: list[pl.Expr] = []
    for f in fs.features:
        if f.expr is not None and not f.derived:
            if f.where is None:
                base_aggs.append(f.expr)
            else:  # one group_by per distinct where (str() of an Expr is abbreviated)
                key = f.where.meta.serialize(format="json")
                by_where.setdefault(key, (f.where, []))[1].append(f.expr)
    out = rows.group_by(ENTITY).agg(_segment_expr(fs.segments).first().alias("segment"), *base_aggs)
    for where, aggs in by_where.values():
        part = rows.filter(where.fill_null(False))
        out = out.join(part.group_by(ENTITY).agg(aggs), on=ENTITY, how="left")
    for f in fs.features:
        if f.builtin is not None:
            part = rows if f.where is None else rows.filter(f.where.fill_null(False))
            value = BUILTINS[f.builtin](part, f.args, start, end)
            out = out.join(value.rename({"value": f.name}), on=ENTITY, how="left")
    # aggregates become floats before the expressions over them (exact sums stay exact)
    out = out.with_columns(
        *[pl.col(f.name).cast(pl.Float64) for f in fs.features if not f.derived], days
    )
    for f in fs.features:
        if f.derived and f.expr is not None:
            out = out.with_columns(f.expr.cast(pl.Float64))
    finite = [
        pl.when(pl.col(f.name).is_finite()).then(pl.col(f.name)).otherwise(None).fill_null(f.fill)
        for f in fs.features
    ]
    return (
        out.with_columns(finite)
        .with_columns(pl.lit(start).alias("window_start"), pl.lit(end).alias("window_end"))
        .select(ENTITY, "segment", "window_start", "window_end", *[f.name for f in fs.features])
        .sort(ENTITY)
        .collect()
    )


def evidence_rows(
    frame: pl.LazyFrame,
    feature: Feature,
    accounts: list[str],
    /,
    *,
    start: datetime,
    end: datetime,
    n: int,
) -> pl.DataFrame:
    """Per account, the `n` largest transactions behind a feature and how many there were.

    Returns `account_id`, `evidence` (txn ids, largest first) and `behind` (the count).
    """
    rows = frame.filter(
        pl.col(ENTITY).is_in(accounts) & (pl.col("ts_utc") > start) & (pl.col("ts_utc") <= end)
    )
    if feature.evidence is not None:
        rows = rows.filter(feature.evidence.fill_null(False))
    ranked = rows.sort([ENTITY, "amount_base", "txn_id"], descending=[False, True, False])
    return (
        ranked.group_by(ENTITY, maintain_order=True)
        .agg(pl.col("txn_id").head(n).alias("evidence"), pl.len().alias("behind"))
        .collect()
    )


def percentile_words(pct: float) -> str:
    """`99.7th`, `85th`, `2nd`: the percentile (0-100) as people say it."""
    value = math.floor(pct * 10) / 10 if pct >= 99 else float(round(pct))
    text = f"{value:.1f}" if pct >= 99 and value != round(value) else f"{value:.0f}"
    whole = int(float(text)) if "." not in text else int(text.rsplit(".", 1)[1])
    suffix = "th" if 11 <= whole % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(whole % 10, "th")
    return text + suffix
