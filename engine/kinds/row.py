"""Row kinds: `transaction` (a row predicate) and `reference` (a match against a list).

Each matching row is a hit; hits of one entity closer than `window` merge into one episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from engine.kinds.common import EvalContext, History, Kind, Plan, hits_frame, window_columns
from engine.spec import ParseContext

__all__ = ["REFERENCE", "TRANSACTION", "entity_column"]


def entity_column(
    ctx: ParseContext, data: Any, key: str = "by", default: str = "account_id"
) -> str:
    """The entity column a rule groups by, checked against the canonical columns."""
    from engine.errors import suggest
    from engine.spec import _ROW_COLUMNS

    by = str(data.get(key, default))
    if by not in _ROW_COLUMNS and by != "customer_id":
        ctx.error((key,), f"unknown column '{by}'", suggest(by, _ROW_COLUMNS))
    ctx.columns.add(by)
    return by


def _measures(ctx: ParseContext, data: Any) -> tuple[tuple[str, pl.Expr], ...]:
    raw = data.get("measures") or {"amount_base": "amount_base"}
    out = []
    for name, text in raw.items():
        expr = ctx.expr(("measures", name), text)
        if expr is not None:
            out.append((str(name), expr))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Transaction:
    """Logic of a `transaction` rule."""

    by: str
    where: pl.Expr
    window: timedelta
    measures: tuple[tuple[str, pl.Expr], ...]


def _parse_transaction(ctx: ParseContext, data: Any) -> Transaction | None:
    by = entity_column(ctx, data)
    if "where" not in data:
        ctx.error(("kind",), "a transaction rule needs a where")
        return None
    where = ctx.expr(("where",), data["where"])
    window = ctx.duration(("window",), data.get("window", "7d"))
    measures = _measures(ctx, data)
    if where is None or window is None:
        return None
    return Transaction(by, where, window, measures)


def _row_hits(
    frame: pl.LazyFrame, by: str, window: timedelta, measures: tuple[tuple[str, pl.Expr], ...]
) -> pl.LazyFrame:
    return hits_frame(
        frame.select(
            pl.col(by).cast(pl.String).alias("entity"),
            *window_columns("ts_utc", window),
            pl.concat_list(pl.col("txn_id")).alias("evidence"),
            *[e for _, e in measures],
        ).filter(pl.col("entity").is_not_null()),
        [n for n, _ in measures],
    )


def _build_transaction(logic: Transaction) -> Plan:
    def plan(frame: pl.LazyFrame, _: EvalContext) -> pl.LazyFrame:
        matched = frame.filter(logic.where.fill_null(False))
        named = tuple((n, e.alias(n)) for n, e in logic.measures)
        return _row_hits(matched, logic.by, logic.window, named)

    return plan


TRANSACTION = Kind(
    name="transaction",
    # a hit reads its own row, but its window (and so its episode) starts `window` before it
    history=lambda logic: History(logic.window),
    keys=("by", "where", "window", "measures"),
    parse=_parse_transaction,
    build=_build_transaction,
    partition_key=lambda logic: logic.by,
)


@dataclass(frozen=True, slots=True)
class Reference:
    """Logic of a `reference` rule: `column` of each row matched against a list's values."""

    by: str
    column: str
    list_name: str
    group: str | None
    where: pl.Expr | None
    ref_where: pl.Expr | None
    window: timedelta
    measures: tuple[tuple[str, pl.Expr], ...]


def _parse_reference(ctx: ParseContext, data: Any) -> Reference | None:
    from engine.errors import suggest
    from engine.spec import _ROW_COLUMNS

    by = entity_column(ctx, data)
    column = str(data.get("column", ""))
    if column not in _ROW_COLUMNS:
        ctx.error(("column",), f"unknown column '{column}'", suggest(column, _ROW_COLUMNS))
    ctx.columns.add(column)
    list_name = str(data.get("list", ""))
    table = ctx.lists.tables.get(list_name)
    if table is None:
        ctx.error(("list",), f"unknown list '{list_name}'", suggest(list_name, ctx.lists.tables))
        return None
    group = data.get("group")
    if (
        group is not None
        and str(group) not in ctx.lists.groups(list_name)
        and not ctx.lists.is_empty(list_name)  # a per-bank feed not supplied: nothing to check
    ):
        ctx.error(
            ("group",),
            f"list '{list_name}' has no group '{group}'",
            suggest(str(group), ctx.lists.groups(list_name)),
        )
    where = ctx.expr(("where",), data["where"]) if "where" in data else None
    ref_names = {f"ref_{c}": pl.String() for c in table.columns}
    ref_where = (
        ctx.expr(("ref_where",), data["ref_where"], names=ref_names)
        if "ref_where" in data
        else None
    )
    window = ctx.duration(("window",), data.get("window", "30d"))
    measures = _measures(ctx, data) if "measures" in data else ()
    if window is None:
        return None
    return Reference(
        by,
        column,
        list_name,
        None if group is None else str(group),
        where,
        ref_where,
        window,
        measures,
    )


def _build_reference(logic: Reference) -> Plan:
    def plan(frame: pl.LazyFrame, ctx: EvalContext) -> pl.LazyFrame:
        table = (ctx.lists or {}).get(logic.list_name)
        assert table is not None, f"list {logic.list_name} vanished after load"
        if logic.group is not None:
            table = table.filter(pl.col("group") == logic.group)
        ref = table.lazy().rename({c: f"ref_{c}" for c in table.columns})
        if logic.ref_where is not None:
            ref = ref.filter(logic.ref_where.fill_null(False))
        ref = ref.unique("ref_value", keep="first", maintain_order=True)
        rows = frame if logic.where is None else frame.filter(logic.where.fill_null(False))
        matched = rows.join(
            ref, left_on=pl.col(logic.column).cast(pl.String), right_on="ref_value", how="inner"
        )
        matched_value = pl.col(logic.column).cast(pl.String).alias("matched_value")
        named = (("matched_value", matched_value), *((n, e.alias(n)) for n, e in logic.measures))
        names = [n for n, _ in named]
        return hits_frame(
            matched.select(
                pl.col(logic.by).alias("entity"),
                *window_columns("ts_utc", logic.window),
                pl.concat_list(pl.col("txn_id")).alias("evidence"),
                *[e for _, e in named],
            ).filter(pl.col("entity").is_not_null()),
            names,
        )

    return plan


REFERENCE = Kind(
    name="reference",
    history=lambda logic: History(logic.window),  # as `transaction`: a hit spans `window`
    keys=("by", "column", "list", "group", "where", "ref_where", "window", "measures"),
    parse=_parse_reference,
    build=_build_reference,
    partition_key=lambda logic: logic.by,
)
