"""Window kinds: `aggregate` (measures per entity over a rolling or calendar window, with a
`having` condition) and `shared_attribute` (customers sharing an identifier).

Rolling windows are half-open, `(t - window, t]`, Polars' default; calendar periods are
`[start, start + period)` in UTC. Money is summed exactly and compared as floats afterwards.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from engine.kinds.common import EvalContext, History, Kind, Plan, evidence_in_windows, hits_frame
from engine.kinds.row import entity_column
from engine.spec import _ROW_COLUMNS, ParseContext

__all__ = ["AGGREGATE", "SHARED_ATTRIBUTE", "Aggregate", "aggregate_plan", "parse_measures"]

CALENDAR = {"day": "1d", "week": "1w", "month": "1mo", "quarter": "1q", "year": "1y"}


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Logic of an `aggregate` rule."""

    by: str
    where: pl.Expr | None
    window: timedelta | None
    calendar: str | None
    measures: tuple[tuple[str, pl.Expr], ...]  # aggregations over the window's rows
    derived: tuple[tuple[str, pl.Expr], ...]  # expressions over measures, after aggregation
    having: pl.Expr


def parse_measures(
    ctx: ParseContext, raw: Any
) -> tuple[tuple[tuple[str, pl.Expr], ...], tuple[tuple[str, pl.Expr], ...]]:
    """Measures in order: aggregations over rows, then expressions over earlier measures."""
    measures: list[tuple[str, pl.Expr]] = []
    derived: list[tuple[str, pl.Expr]] = []
    if not isinstance(raw, dict) or not raw:
        ctx.error(("measures",), "measures must be a non-empty mapping of name: expression")
        return (), ()
    names: dict[str, pl.DataType] = {}
    for name, text in raw.items():
        if name in _ROW_COLUMNS:
            ctx.error(
                ("measures", name), f"measure name '{name}' shadows a column", "choose another name"
            )
            continue
        expr = ctx.expr(("measures", name), text, names={**_ROW_COLUMNS, **names})
        if expr is None:
            continue
        roots = set(expr.meta.root_names())
        if roots and roots <= set(names):
            derived.append((str(name), expr.alias(str(name))))
        else:
            measures.append((str(name), expr.alias(str(name))))
        names[str(name)] = pl.Float64()
    return tuple(measures), tuple(derived)


def _parse_aggregate(ctx: ParseContext, data: Any) -> Aggregate | None:
    by = entity_column(ctx, data)
    where = ctx.expr(("where",), data["where"]) if "where" in data else None
    window = calendar = None
    if "period" in data:
        period = str(data["period"])
        if period not in CALENDAR:
            ctx.error(
                ("period",),
                f"unknown calendar period '{period}'",
                "use day, week, month, quarter or year",
            )
        calendar = CALENDAR.get(period)
    else:
        window = ctx.duration(("window",), data.get("window", "30d"))
    measures, derived = parse_measures(ctx, data.get("measures"))
    names = {n: pl.Float64() for n, _ in measures + derived}
    if "having" not in data:
        ctx.error(("kind",), "an aggregate rule needs a having condition")
        return None
    having = ctx.expr(("having",), data["having"], names={**_ROW_COLUMNS, **names})
    if having is None or not measures or (window is None and calendar is None):
        return None
    return Aggregate(by, where, window, calendar, measures, derived, having)


# expression nodes (Polars' serialized form) that compute each row from that row alone
_ROW_NODES = frozenset({"Column", "Literal", "BinaryExpr", "Ternary", "Cast", "Function"})
_ROW_FUNCTIONS = frozenset(
    {"Sql", "TemporalExpr", "Boolean", "StringExpr", "Coalesce", "Abs", "MinHorizontal"}
)
_ROW_CHILDREN = {
    "BinaryExpr": ("left", "right"),
    "Ternary": ("predicate", "truthy", "falsy"),
    "Cast": ("expr",),
}
_ROW_KINDS = {
    "Sql": frozenset({"IsIn", "Binary"}),
    "Boolean": frozenset({"Not", "IsNull", "IsNotNull", "IsIn", "IsNan", "IsNotNan"}),
    "StringExpr": frozenset({"StripChars", "Lowercase", "Uppercase", "Contains", "StartsWith"}),
}


def _is_row_level(node: Any) -> bool:
    """Is this serialized expression elementwise: each output row from its own input row?"""
    if not isinstance(node, dict) or len(node) != 1:
        return False
    kind, body = next(iter(node.items()))
    if kind not in _ROW_NODES:
        return False
    if kind in ("Column", "Literal"):
        return True
    if kind == "Function":
        function = body["function"]
        name = function if isinstance(function, str) else next(iter(function))
        if name not in _ROW_FUNCTIONS:
            return False
        if name in _ROW_KINDS:
            inner = function[name]
            inner = inner if isinstance(inner, str) else next(iter(inner))
            if inner not in _ROW_KINDS[name]:
                return False
        return all(_is_row_level(x) for x in body["input"])
    children = [body[k] for k in _ROW_CHILDREN[kind]]
    return all(_is_row_level(x) for x in children)


def _reads_a_column(node: Any) -> bool:
    if isinstance(node, dict):
        if "Column" in node:
            return True
        return any(_reads_a_column(v) for k, v in node.items() if k != "Literal")
    return isinstance(node, list) and any(_reads_a_column(v) for v in node)


def hoist_row_parts(aggs: list[pl.Expr]) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """Split aggregations into row-level columns computed once and aggregations over them.

    In a rolling or grouped context Polars evaluates an expression once per window unless it
    knows the expression is elementwise; some it cannot tell (`x IN (...)` from SQL is one),
    and a measure such as `avg(CASE WHEN mcc IN (...) THEN 1 ELSE 0 END)` then costs a
    per-window call for every row (20 s instead of 0.4 s on 650k rows). A part that computes
    each row from that row alone (`_is_row_level`) gives the same values whether computed per
    window or once for all rows, so it is computed once, as a column, and the aggregation
    reads that column. Returns (the row-level columns, the rewritten aggregations).
    """
    hoisted: dict[str, str] = {}  # serialized part -> its column name

    def rewrite(node: Any) -> Any:
        if isinstance(node, list):
            return [rewrite(x) for x in node]
        if not isinstance(node, dict):
            return node
        if (
            len(node) == 1
            and "Column" not in node
            and "Literal" not in node
            and _is_row_level(node)
            and _reads_a_column(node)
        ):
            key = json.dumps(node, sort_keys=True)
            name = hoisted.setdefault(key, f"_row{len(hoisted)}")
            return {"Column": name}
        if "Literal" in node and len(node) == 1:
            return node
        return {k: rewrite(v) for k, v in node.items()}

    out = []
    for agg in aggs:
        tree = json.loads(agg.meta.serialize(format="json"))
        new = rewrite(tree)
        out.append(agg if new == tree else _deserialize(new))
    columns = [_deserialize(json.loads(key)).alias(name) for key, name in hoisted.items()]
    return columns, out


def _deserialize(tree: Any) -> pl.Expr:
    return pl.Expr.deserialize(io.StringIO(json.dumps(tree)), format="json")


def aggregate_plan(logic: Aggregate, frame: pl.LazyFrame) -> pl.LazyFrame:
    """Hits of an aggregate over `frame` (already joined with the customer columns it uses)."""
    events = frame if logic.where is None else frame.filter(logic.where.fill_null(False))
    events = events.filter(pl.col(logic.by).is_not_null()).sort(logic.by, "ts_utc", "txn_id")
    row_parts, aggs = hoist_row_parts([e for _, e in logic.measures])
    windowed = events.with_columns(row_parts) if row_parts else events
    names = [n for n, _ in logic.measures + logic.derived]
    if logic.window is not None:
        span = logic.window
        rolled = windowed.rolling(index_column="ts_utc", period=span, group_by=logic.by).agg(aggs)
        # tied timestamps share one window: keep one trigger per (entity, time)
        rolled = rolled.unique([logic.by, "ts_utc"], keep="first", maintain_order=True)
        framed = rolled.with_columns(
            (pl.col("ts_utc") - span).alias("window_start"), pl.col("ts_utc").alias("window_end")
        )
    else:
        every = str(logic.calendar)
        rolled = windowed.group_by_dynamic(
            "ts_utc", every=every, group_by=logic.by, closed="left", label="left"
        ).agg(aggs)
        one_us = timedelta(microseconds=1)
        framed = rolled.with_columns(
            (pl.col("ts_utc") - one_us).alias("window_start"),
            (pl.col("ts_utc").dt.offset_by(every) - one_us).alias("window_end"),
        )
    decimals = [pl.col(n).cast(pl.Float64) for n, _ in logic.measures]
    framed = framed.with_columns(decimals)
    for _, expr in logic.derived:
        framed = framed.with_columns(expr.cast(pl.Float64))
    triggers = framed.filter(logic.having.fill_null(False)).rename({logic.by: "entity"})
    triggers = triggers.with_columns(pl.col("entity").cast(pl.String))
    with_evidence = evidence_in_windows(
        triggers, events.with_columns(pl.col(logic.by).cast(pl.String)), by=logic.by
    )
    return hits_frame(with_evidence, names)


def _build_aggregate(logic: Aggregate) -> Plan:
    def plan(frame: pl.LazyFrame, _: EvalContext) -> pl.LazyFrame:
        return aggregate_plan(logic, frame)

    return plan


def calendar_span(every: str) -> timedelta:
    """The longest a calendar period of `every` can be."""
    return {"1d": timedelta(days=1), "1w": timedelta(weeks=1), "1mo": timedelta(days=31),
            "1q": timedelta(days=92), "1y": timedelta(days=366)}[every]  # fmt: skip


def _aggregate_history(logic: Aggregate) -> History:
    span = logic.window if logic.window is not None else calendar_span(str(logic.calendar))
    return History(span)


AGGREGATE = Kind(
    name="aggregate",
    history=_aggregate_history,
    keys=("by", "where", "window", "period", "measures", "having"),
    parse=_parse_aggregate,
    build=_build_aggregate,
    partition_key=lambda logic: logic.by,
)


@dataclass(frozen=True, slots=True)
class SharedAttribute:
    """Logic of a `shared_attribute` rule: customers sharing `attribute`."""

    attribute: str
    min_customers: int
    distinct: tuple[tuple[str, int], ...]  # e.g. (("surname_norm", 2),)
    exclude: pl.Expr | None
    window: timedelta
    where: pl.Expr | None


def _parse_shared(ctx: ParseContext, data: Any) -> SharedAttribute | None:
    attribute = entity_column(ctx, data, key="attribute", default="")
    raw_min = data.get("min_customers", 3)
    min_customers = _int_param(ctx, ("min_customers",), raw_min)
    distinct = []
    for column, n in (data.get("distinct") or {}).items():
        if column not in _ROW_COLUMNS:
            ctx.error(("distinct", column), f"unknown column '{column}'")
        ctx.columns.add(str(column))
        distinct.append((str(column), _int_param(ctx, ("distinct", column), n)))
    exclude = ctx.expr(("exclude",), data["exclude"]) if "exclude" in data else None
    where = ctx.expr(("where",), data["where"]) if "where" in data else None
    window = ctx.duration(("window",), data.get("window", "30d"))
    ctx.columns.add("customer_id")
    if window is None:
        return None
    return SharedAttribute(attribute, min_customers, tuple(distinct), exclude, window, where)


def _int_param(ctx: ParseContext, keys: tuple[str | int, ...], raw: Any) -> int:
    text = ctx.substitute(keys, str(raw)) if isinstance(raw, str) else str(raw)
    try:
        return int(float(str(text)))
    except (TypeError, ValueError):
        ctx.error(keys, f"expected a whole number, not {raw!r}")
        return 0


def _build_shared(logic: SharedAttribute) -> Plan:
    """Customers sharing an attribute within a window: an aggregate keyed on the attribute."""
    # a row without a customer id is nobody's: n_unique alone would count null as a customer
    customers = pl.col("customer_id").drop_nulls().n_unique()
    measures = [("n_customers", customers.alias("n_customers"))]
    measures += [
        (f"n_{c}", pl.col(c).drop_nulls().n_unique().alias(f"n_{c}")) for c, _ in logic.distinct
    ]
    having = pl.col("n_customers") >= logic.min_customers
    for column, n in logic.distinct:
        having = having & (pl.col(f"n_{column}") >= n)
    where = logic.where
    if logic.exclude is not None:
        where = (
            ~logic.exclude.fill_null(False)
            if where is None
            else where & ~logic.exclude.fill_null(False)
        )
    agg = Aggregate(logic.attribute, where, logic.window, None, tuple(measures), (), having)

    def plan(frame: pl.LazyFrame, _: EvalContext) -> pl.LazyFrame:
        return aggregate_plan(agg, frame)

    return plan


SHARED_ATTRIBUTE = Kind(
    name="shared_attribute",
    history=lambda logic: History(logic.window),
    keys=("attribute", "min_customers", "distinct", "exclude", "where", "window"),
    parse=_parse_shared,
    build=_build_shared,
    partition_key=lambda logic: logic.attribute,
)
