"""The `sequence` kind: ordered events of one entity within a span (A, then B, then C).

Each step is a row filter. A chain is one event per step, each strictly after the previous,
the last within `within` of the first; `match` is a condition over step-prefixed columns
(`a_amount_base`, `b_ts_utc`, ...). `repeat` asks for several chains in a longer window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from engine.kinds.common import EvalContext, History, Kind, Plan, hits_frame
from engine.kinds.row import entity_column
from engine.spec import _ROW_COLUMNS, ParseContext

__all__ = ["SEQUENCE"]

_STEP_COLUMNS = (
    "txn_id", "ts_utc", "ts_local", "amount_base", "amount", "currency", "channel", "txn_type",
    "counterparty_account_id", "counterparty_name", "counterparty_type", "counterparty_country",
    "mcc", "merchant_id", "txn_city", "txn_region", "txn_country", "conductor_id",
    "crypto_risk_tag", "reference_text",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sequence:
    """Logic of a `sequence` rule."""

    by: str
    steps: tuple[tuple[str, pl.Expr], ...]
    within: timedelta
    match: pl.Expr | None
    repeat: int
    repeat_within: timedelta | None


def _parse(ctx: ParseContext, data: Any) -> Sequence | None:
    by = entity_column(ctx, data)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or len(raw_steps) < 2:
        ctx.error(("steps",), "a sequence needs a list of at least two steps")
        return None
    steps = []
    for i, step in enumerate(raw_steps):
        if not isinstance(step, dict) or "name" not in step or "where" not in step:
            ctx.error(("steps", i), "each step needs a name and a where")
            continue
        expr = ctx.expr(("steps", i, "where"), step["where"])
        if expr is not None:
            steps.append((str(step["name"]), expr))
    within = ctx.duration(("within",), data.get("within", "7d"))
    names = {f"{n}_{c}": _ROW_COLUMNS[c] for n, _ in steps for c in _STEP_COLUMNS}
    match = ctx.expr(("match",), data["match"], names=names) if "match" in data else None
    if match is not None:
        # `c_counterparty_account_id` reads counterparty_account_id: the scan must keep it
        column_of = {f"{n}_{c}": c for n, _ in steps for c in _STEP_COLUMNS}
        ctx.columns.update(column_of[name] for name in match.meta.root_names())
    repeat_raw = data.get("repeat") or {}
    repeat = 1
    if repeat_raw:  # a count may be a $param, as in velocity
        count = ctx.substitute(("repeat", "count"), str(repeat_raw.get("count", 1)))
        try:
            repeat = int(float(str(count)))
        except ValueError:
            if count is not None:  # an unknown $param is reported already
                ctx.error(
                    ("repeat", "count"),
                    f"expected a whole number, not {repeat_raw.get('count')!r}",
                )
    repeat_within = (
        ctx.duration(("repeat", "within"), repeat_raw.get("within", "30d")) if repeat_raw else None
    )
    ctx.columns.update(("amount_base", "amount"))
    if within is None or len(steps) != len(raw_steps):
        return None
    return Sequence(by, tuple(steps), within, match, repeat, repeat_within)


def _build(logic: Sequence) -> Plan:
    def plan(frame: pl.LazyFrame, _: EvalContext) -> pl.LazyFrame:
        base = frame.filter(pl.col(logic.by).is_not_null()).with_columns(
            pl.col(logic.by).cast(pl.String).alias("entity")
        )
        have = set(base.collect_schema().names())
        cols = [c for c in _STEP_COLUMNS if c in have]
        chain: pl.LazyFrame | None = None
        first = logic.steps[0][0]
        prev = first
        for name, where in logic.steps:
            step = base.filter(where.fill_null(False)).select(
                "entity", *[pl.col(c).alias(f"{name}_{c}") for c in cols]
            )
            if chain is None:
                chain = step
                continue
            chain = chain.join(step, on="entity", how="inner").filter(
                (pl.col(f"{name}_ts_utc") > pl.col(f"{prev}_ts_utc"))
                & (pl.col(f"{name}_ts_utc") <= pl.col(f"{first}_ts_utc") + logic.within)
            )
            prev = name
        assert chain is not None
        if logic.match is not None:
            chain = chain.filter(logic.match.fill_null(False))
        last = logic.steps[-1][0]
        hits = chain.with_columns(
            (pl.col(f"{first}_ts_utc") - pl.duration(microseconds=1)).alias("window_start"),
            pl.col(f"{last}_ts_utc").alias("window_end"),
            pl.concat_list([pl.col(f"{n}_txn_id") for n, _ in logic.steps]).alias("evidence"),
            pl.lit(1).alias("chains"),
        )
        if logic.repeat > 1 and logic.repeat_within is not None:
            hits = (
                hits.sort("entity", "window_end")
                .rolling(index_column="window_end", period=logic.repeat_within, group_by="entity")
                .agg(
                    pl.len().alias("chains"),
                    pl.col("evidence")
                    .list.explode(keep_nulls=False, empty_as_null=False)
                    .unique()
                    .sort()
                    .alias("evidence"),
                    pl.col("window_start").min(),
                )
                .filter(pl.col("chains") >= logic.repeat)
                .unique(["entity", "window_end"], keep="last", maintain_order=True)
            )
        return hits_frame(hits, ["chains"])

    return plan


SEQUENCE = Kind(
    name="sequence",
    # a hit's window opens 1 us before its first step: it is that much longer than `within`
    history=lambda logic: History(
        logic.within + (logic.repeat_within or timedelta(0)) + timedelta(microseconds=1)
    ),
    keys=("by", "steps", "within", "match", "repeat"),
    parse=_parse,
    build=_build,
    partition_key=lambda logic: logic.by,
)
