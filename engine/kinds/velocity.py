"""The `velocity` kind: money in, then out within a span (pass-through, funnel, wage capture).

For each inflow at time t, the outflows of the same entity in `(t, t + span]` are summed
exactly from per-entity cumulative sums found by as-of joins, so the cost is a sort and two
joins, not a pairwise comparison. Measures: `in_amount`, `out_amount`, `ratio` (out / in),
`n_out`, `dwell_hours` (to the first outflow). `repeat` asks for several such episodes
within a longer window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from engine.kinds.common import EvalContext, History, Kind, Plan, hits_frame
from engine.kinds.row import entity_column
from engine.spec import _ROW_COLUMNS, ParseContext

__all__ = ["VELOCITY"]

MEASURES = ("in_amount", "out_amount", "ratio", "n_out", "dwell_hours")

_PER_HOUR_US = 1 / 3.6e9
"""Hours per microsecond."""


@dataclass(frozen=True, slots=True)
class Velocity:
    """Logic of a `velocity` rule."""

    by: str
    inflow: pl.Expr
    outflow: pl.Expr
    span: timedelta
    having: pl.Expr
    repeat: int
    within: timedelta | None


def _parse(ctx: ParseContext, data: Any) -> Velocity | None:
    by = entity_column(ctx, data)
    inflow = ctx.expr(("in",), data.get("in", "direction = 'in'"))
    outflow = ctx.expr(("out",), data.get("out", "direction = 'out'"))
    span = ctx.duration(("span",), data.get("span", "48h"))
    names = {**_ROW_COLUMNS, **{m: pl.Float64() for m in MEASURES}}
    having = ctx.expr(("having",), data.get("having", "ratio >= 0.8"), names=names)
    repeat_raw = data.get("repeat") or {}
    repeat, within = 1, None
    if repeat_raw:
        unknown = set(repeat_raw) - {"count", "within"}
        for key in sorted(unknown):
            ctx.error(("repeat", key), f"unknown key '{key}'", "use count and within")
        text = ctx.substitute(("repeat", "count"), str(repeat_raw.get("count", 1)))
        try:
            repeat = int(float(str(text)))
        except ValueError:
            ctx.error(
                ("repeat", "count"), f"expected a whole number, not {repeat_raw.get('count')!r}"
            )
        within = ctx.duration(("repeat", "within"), repeat_raw.get("within", "30d"))
    ctx.columns.update({"direction", "amount_base"})
    if inflow is None or outflow is None or span is None or having is None:
        return None
    return Velocity(by, inflow, outflow, span, having, repeat, within)


def _build(logic: Velocity) -> Plan:
    by = logic.by

    def plan(frame: pl.LazyFrame, _: EvalContext) -> pl.LazyFrame:
        base = frame.filter(pl.col(by).is_not_null()).with_columns(pl.col(by).cast(pl.String))
        ins = base.filter(logic.inflow.fill_null(False)).select(
            pl.col(by).alias("entity"),
            "ts_utc",
            pl.col("txn_id").alias("in_txn"),
            pl.col("amount_base").alias("in_amount"),
        )
        outs = base.filter(logic.outflow.fill_null(False)).select(
            pl.col(by).alias("entity"), "ts_utc", "txn_id", "amount_base"
        )
        # one row per (entity, instant): ties at one instant are summed before the running total
        steps = (
            outs.group_by("entity", "ts_utc")
            .agg(pl.col("amount_base").sum().alias("_amt"), pl.len().alias("_n"))
            .sort("entity", "ts_utc")
            .with_columns(
                pl.col("_amt").cum_sum().over("entity").alias("_cum"),
                pl.col("_n").cum_sum().over("entity").alias("_cn"),
            )
            .sort("ts_utc")
        )
        ins = ins.sort("ts_utc").with_columns((pl.col("ts_utc") + logic.span).alias("_until"))
        at_t = steps.select(
            "entity",
            pl.col("ts_utc").alias("_k"),
            pl.col("_cum").alias("_c0"),
            pl.col("_cn").alias("_n0"),
        )
        at_end = steps.select(
            "entity",
            pl.col("ts_utc").alias("_k2"),
            pl.col("_cum").alias("_c1"),
            pl.col("_cn").alias("_n1"),
        )
        first = steps.select("entity", pl.col("ts_utc").alias("_first_out"))
        joined = (
            ins.join_asof(
                at_t,
                left_on="ts_utc",
                right_on="_k",
                by="entity",
                strategy="backward",
                check_sortedness=False,
            )
            .sort("_until")
            .join_asof(
                at_end,
                left_on="_until",
                right_on="_k2",
                by="entity",
                strategy="backward",
                check_sortedness=False,
            )
            .sort("ts_utc")
            .join_asof(
                first,
                left_on="ts_utc",
                right_on="_first_out",
                by="entity",
                strategy="forward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
        )
        zero = pl.lit(0).cast(pl.Decimal(38, 2))
        measured = joined.with_columns(
            pl.col("in_amount").cast(pl.Float64),
            (pl.col("_c1").fill_null(zero) - pl.col("_c0").fill_null(zero))
            .cast(pl.Float64)
            .alias("out_amount"),
            (pl.col("_n1").fill_null(0) - pl.col("_n0").fill_null(0)).alias("n_out"),
        ).with_columns(
            (pl.col("out_amount") / pl.col("in_amount")).alias("ratio"),
            pl.when(pl.col("_first_out") <= pl.col("_until"))
            # times a literal, not divided by one: Polars turns a division by a literal into
            # a multiplication by its reciprocal except on one-row frames, so the last bit of
            # the hours would depend on how the frame was partitioned
            .then((pl.col("_first_out") - pl.col("ts_utc")).dt.total_microseconds() * _PER_HOUR_US)
            .alias("dwell_hours"),
        )
        qualifying = measured.filter(logic.having.fill_null(False)).with_columns(
            (pl.col("ts_utc") - pl.duration(microseconds=1)).alias("window_start"),
            pl.col("_until").alias("window_end"),
        )
        evidence = (
            qualifying.select("entity", "in_txn", "ts_utc", "_until")
            .join(outs.select("entity", pl.col("ts_utc").alias("_ots"), "txn_id"), on="entity")
            .filter((pl.col("_ots") > pl.col("ts_utc")) & (pl.col("_ots") <= pl.col("_until")))
            .group_by("in_txn")
            .agg(pl.col("txn_id"))
        )
        hits = qualifying.join(evidence, on="in_txn", how="left").with_columns(
            pl.concat_list(
                pl.col("in_txn"), pl.col("txn_id").fill_null(pl.lit([], pl.List(pl.String)))
            )
            .list.unique()
            .list.sort()
            .alias("evidence")
        )
        if logic.repeat > 1 and logic.within is not None:
            # in_txn breaks ties between inflows at one instant, so the measures of the "last"
            # inflow of a window do not depend on the order the engine produced the rows in
            hits = (
                hits.sort("entity", "ts_utc", "in_txn")
                .rolling(index_column="ts_utc", period=logic.within, group_by="entity")
                .agg(
                    pl.len().alias("episodes"),
                    pl.col("evidence")
                    .list.explode(keep_nulls=False, empty_as_null=False)
                    .unique()
                    .sort()
                    .alias("evidence"),
                    pl.col("window_end").max(),
                    *[pl.col(m).last() for m in MEASURES],
                )
                .filter(pl.col("episodes") >= logic.repeat)
                .unique(["entity", "ts_utc"], keep="last", maintain_order=True)
                .with_columns((pl.col("ts_utc") - logic.within).alias("window_start"))
            )
            return hits_frame(hits, [*MEASURES, "episodes"])
        return hits_frame(hits, list(MEASURES))

    return plan


_ONE_US = timedelta(microseconds=1)

VELOCITY = Kind(
    name="velocity",
    # a hit's window opens 1 us before its inflow: it is that much longer than the span
    history=lambda logic: History(logic.span + (logic.within or timedelta(0)) + _ONE_US),
    keys=("by", "in", "out", "span", "having", "repeat"),
    parse=_parse,
    build=_build,
    partition_key=lambda logic: logic.by,
)
