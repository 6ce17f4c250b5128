"""The `profile` kind: an entity against its own history, its peers, or its KYC declarations.

Measures are computed per entity per calendar period (`period: month`). Every entity gets a
row for every period of the data from the period of its first transaction on (a quiet month
is a zero, not a gap; a month before the entity existed is no month at all), so the baseline
is honest: an account opened last month has one month of history, not six quiet ones. The
`having` condition may use, for each measure `m`: `m`, `m_baseline` (mean of the previous
`baseline` periods), `m_std`, `m_z` (z-score), `m_ratio` (m / baseline), `m_peer_pct`
(percentile rank among the entity's `segment` in the same period, 0-1) and `m_peer_median`
(median of the *other* entities of the segment in that period; null when it has no other);
plus any KYC column (e.g. `declared_annual_income`). Peers are the entities active by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from engine.kinds.common import (
    WHOLE_HISTORY,
    EvalContext,
    History,
    Kind,
    Plan,
    evidence_in_windows,
    hits_frame,
)
from engine.kinds.row import entity_column
from engine.kinds.window import CALENDAR, parse_measures
from engine.spec import _ROW_COLUMNS, ParseContext

__all__ = ["PROFILE"]

_SUFFIXES = ("", "_baseline", "_std", "_z", "_ratio", "_peer_pct", "_peer_median")


@dataclass(frozen=True, slots=True)
class Profile:
    """Logic of a `profile` rule."""

    by: str
    where: pl.Expr | None
    every: str
    measures: tuple[tuple[str, pl.Expr], ...]
    derived: tuple[tuple[str, pl.Expr], ...]
    baseline: int
    min_baseline: int
    segment: str | None
    kyc: tuple[str, ...]
    having: pl.Expr


def _parse(ctx: ParseContext, data: Any) -> Profile | None:
    by = entity_column(ctx, data)
    where = ctx.expr(("where",), data["where"]) if "where" in data else None
    period = str(data.get("period", "month"))
    if period not in CALENDAR:
        ctx.error(
            ("period",),
            f"unknown calendar period '{period}'",
            "use day, week, month, quarter or year",
        )
    measures, derived = parse_measures(ctx, data.get("measures"))
    baseline_raw = data.get("baseline") or {}
    if not isinstance(baseline_raw, dict):
        ctx.error(("baseline",), "baseline must be a mapping", "e.g. {periods: 6, min_periods: 3}")
        baseline_raw = {}
    baseline = int(baseline_raw.get("periods", 6))
    min_baseline = int(baseline_raw.get("min_periods", 3))
    segment = data.get("segment")
    if segment is not None and segment not in _ROW_COLUMNS:
        ctx.error(("segment",), f"unknown column '{segment}'")
    if segment:
        ctx.columns.add(str(segment))
    names: dict[str, pl.DataType] = {
        f"{n}{s}": pl.Float64() for n, _ in measures + derived for s in _SUFFIXES
    }
    having = ctx.expr(("having",), data.get("having", ""), names={**_ROW_COLUMNS, **names})
    kyc = tuple(
        c for c in (having.meta.root_names() if having is not None else []) if c in _ROW_COLUMNS
    )
    if having is None or period not in CALENDAR or not measures:
        return None
    return Profile(
        by,
        where,
        CALENDAR[period],
        measures,
        derived,
        baseline,
        min_baseline,
        None if segment is None else str(segment),
        kyc,
        having,
    )


def _build(logic: Profile) -> Plan:
    one_us = timedelta(microseconds=1)

    def plan(frame: pl.LazyFrame, _: EvalContext) -> pl.LazyFrame:
        base = frame.filter(pl.col(logic.by).is_not_null()).with_columns(
            pl.col(logic.by).cast(pl.String)
        )
        events = base if logic.where is None else base.filter(logic.where.fill_null(False))
        events = events.with_columns(pl.col("ts_utc").dt.truncate(logic.every).alias("_period"))
        names = [n for n, _ in logic.measures + logic.derived]
        per = events.group_by(logic.by, "_period").agg([e for _, e in logic.measures])
        # the full grid: every entity that ever transacts x every period of the data
        periods = base.select(pl.col("ts_utc").dt.truncate(logic.every).alias("_period")).unique()
        attrs = [logic.by] + [
            c for c in {*logic.kyc, *([logic.segment] if logic.segment else [])} if c != logic.by
        ]
        entities = base.group_by(logic.by).agg(
            pl.col("ts_utc").min().dt.truncate(logic.every).alias("_first"),
            *[pl.col(c).first() for c in attrs if c != logic.by],
        )
        # the grid: every entity x every period of the data from its first period on
        grid = (
            entities.join(periods, how="cross")
            .filter(pl.col("_period") >= pl.col("_first"))
            .drop("_first")
            .join(per, on=[logic.by, "_period"], how="left")
        )
        grid = grid.with_columns(
            [pl.col(n).cast(pl.Float64).fill_null(0.0) for n, _ in logic.measures]
        )
        for _name, expr in logic.derived:
            grid = grid.with_columns(expr.cast(pl.Float64))
        grid = grid.sort(logic.by, "_period")
        group = [logic.segment, "_period"] if logic.segment else ["_period"]
        for n in names:
            prev = pl.col(n).shift(1)
            mean = prev.rolling_mean(logic.baseline, min_samples=logic.min_baseline).over(logic.by)
            std = prev.rolling_std(logic.baseline, min_samples=logic.min_baseline).over(logic.by)
            grid = grid.with_columns(mean.alias(f"{n}_baseline"), std.alias(f"{n}_std"))
            grid = grid.with_columns(
                pl.when(pl.col(f"{n}_std") > 0)
                .then((pl.col(n) - pl.col(f"{n}_baseline")) / pl.col(f"{n}_std"))
                .alias(f"{n}_z"),
                pl.when(pl.col(f"{n}_baseline") > 0)
                .then(pl.col(n) / pl.col(f"{n}_baseline"))
                .alias(f"{n}_ratio"),
                (
                    (pl.col(n).rank("max").over(group) - 1)
                    / (pl.len().over(group) - 1).clip(lower_bound=1)
                ).alias(f"{n}_peer_pct"),
            )
        grid = _with_peer_medians(grid, names, group)
        triggers = (
            grid.filter(logic.having.fill_null(False))
            .rename({logic.by: "entity"})
            .with_columns(
                (pl.col("_period") - one_us).alias("window_start"),
                (pl.col("_period").dt.offset_by(logic.every) - one_us).alias("window_end"),
            )
        )
        out_names = [f"{n}{s}" for n in names for s in _SUFFIXES]
        return hits_frame(evidence_in_windows(triggers, events, by=logic.by), out_names)

    return plan


def _with_peer_medians(grid: pl.LazyFrame, names: list[str], group: list[str]) -> pl.LazyFrame:
    """`{n}_peer_median` for each measure `n`: its median over the other entities of the
    row's group.

    Without its own value the group has M = N - 1 values; each row's own value sits at its
    ordinal rank r among the sorted values s, so the others' sorted value at k is s[k] below r
    and s[k + 1] from r on. Only s around the middle is needed: c = (N - 1) // 2 gives
    s[c] or s[c + 1] when N is even, the mean of the two around s[c] when N is odd. Rows with
    a null value are not in the group; their peer median is the median of the group.

    All measures share one aggregation and one join: the grid is referenced twice in all,
    not twice per measure (a plan that doubled per measure recomputed the grid 2^k times).
    """
    aggs: list[pl.Expr] = []
    finals: list[pl.Expr] = []
    temps: list[str] = []
    for n in names:
        valid = pl.col(n).is_not_null() & pl.col(n).is_not_nan()
        ordered = pl.col(n).filter(valid).sort()
        count = valid.sum()
        middle = (count.cast(pl.Int64) - 1) // 2
        aggs += [
            count.cast(pl.Int64).alias(f"_n_{n}"),
            pl.col(n).filter(valid).median().alias(f"_all_{n}"),
            *[
                ordered.get(middle + k, null_on_oob=True).alias(f"_s{k + 1}_{n}")
                for k in (-1, 0, 1)
            ],
        ]
        rank = (pl.when(valid).then(pl.col(n)).rank("ordinal").over(group) - 1).cast(pl.Int64)
        finals.append(rank.alias(f"_r_{n}"))
        temps += [f"_r_{n}", f"_n_{n}", f"_all_{n}", f"_s0_{n}", f"_s1_{n}", f"_s2_{n}"]
    medians = [_peer_median(n).cast(pl.Float64).alias(f"{n}_peer_median") for n in names]
    mids = grid.group_by(group).agg(aggs)
    return (
        grid.with_columns(finals)
        .join(mids, on=group, how="left", nulls_equal=True, maintain_order="left")
        .with_columns(medians)
        .drop(temps)
    )


def _peer_median(n: str) -> pl.Expr:
    """The leave-one-out median of `n` from the row's rank and the group's middle values."""
    valid = pl.col(n).is_not_null() & pl.col(n).is_not_nan()
    size, rank = pl.col(f"_n_{n}"), pl.col(f"_r_{n}")
    c = (size - 1) // 2

    def other(k: pl.Expr, at_k: str, after_k: str) -> pl.Expr:
        return pl.when(k < rank).then(pl.col(f"{at_k}_{n}")).otherwise(pl.col(f"{after_k}_{n}"))

    even = other(c, "_s1", "_s2")
    odd = (other(c - 1, "_s0", "_s1") + other(c, "_s1", "_s2")) / 2
    return (
        pl.when(~valid)
        .then(pl.col(f"_all_{n}"))
        .when(size <= 1)
        .then(None)
        .when(size % 2 == 0)
        .then(even)
        .otherwise(odd)
    )


def _profile_history(logic: Profile) -> History:
    """Whole history: the peer percentiles rank an entity among every entity that ever
    transacted (quiet ones count as zero), which no bounded window reproduces."""
    return WHOLE_HISTORY


PROFILE = Kind(
    name="profile",
    history=_profile_history,
    keys=("by", "where", "period", "measures", "baseline", "segment", "having"),
    parse=_parse,
    build=_build,
    partition_key=lambda logic: logic.by,
)
