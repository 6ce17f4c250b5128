"""Counterparty graph building: postings -> transfers -> pruned edge table -> NetworkX.

Everything heavy happens in Polars (lazy where possible). NetworkX graphs are built from the
filtered, aggregated edge table only, never one Python object per raw transaction.

A transfer between two of our own accounts arrives as two postings (the sender's `out`, the
receiver's `in`). `transfers` keeps exactly one row per money movement: every `out` posting
with a counterparty account, plus `in` postings whose counterparty is external (not an
`account_id` of the frame). Transaction ids are never parsed.
"""

from __future__ import annotations

import weakref
from dataclasses import astuple, dataclass, fields
from datetime import timedelta
from decimal import Decimal

import networkx as nx
import polars as pl

from engine.schema import MONEY

__all__ = [
    "EDGE_COLUMNS",
    "TRANSFER_COLUMNS",
    "Hygiene",
    "edge_table",
    "forward_pairs",
    "internal_accounts",
    "prune",
    "pruned_transfers",
    "time_join",
    "to_digraph",
    "transfers",
]

TOTAL = pl.Decimal(38, 2)
"""Sums of MONEY: exact, with room for many additions."""

TRANSFER_COLUMNS: dict[str, pl.DataType] = {
    "txn_id": pl.String(),
    "source": pl.String(),
    "target": pl.String(),
    "ts_utc": pl.Datetime("us", "UTC"),
    "amount": MONEY,
    "channel": pl.String(),
    "counterparty_type": pl.String(),
    "txn_type": pl.String(),
    "reference_text": pl.String(),
}

EDGE_COLUMNS: dict[str, pl.DataType] = {
    "source": pl.String(),
    "target": pl.String(),
    "amount": TOTAL,
    "count": pl.UInt32(),
    "first_ts": pl.Datetime("us", "UTC"),
    "last_ts": pl.Datetime("us", "UTC"),
    "channels": pl.List(pl.String()),
}

_OPTIONAL = ("counterparty_type", "txn_type", "reference_text")


@dataclass(frozen=True, slots=True)
class Hygiene:
    """Common graph-rule hygiene of typologies.md §5; every network pattern's params extend it.

    Attributes:
        min_amount: Edges below this base amount are dropped. [default] §5: 100.
        drop_counterparty_types: Counterparty types that are never graph edges. [default] §5.
        hub_quantile: Accounts above this quantile of in- or out-degree (distinct counterparties
            per `hub_period`) are removed as hubs; None disables. [default] §5: p99.9.
        hub_period: Bucket length of the hub degree. [default] §5: 90 days.
        hub_min_degree: A hub must also exceed this degree, so that a small frame never loses
            the centre of its only motif. [default]
    """

    min_amount: float = 100.0
    drop_counterparty_types: tuple[str, ...] = (
        "merchant",
        "government",
        "biller",
        "payroll_provider",
    )
    hub_quantile: float | None = 0.999
    hub_period: timedelta = timedelta(days=90)
    hub_min_degree: int = 50


def internal_accounts(txns: pl.DataFrame | pl.LazyFrame, /) -> pl.LazyFrame:
    """The monitored accounts (every distinct `account_id`) as a one-column frame `node`."""
    return txns.lazy().select(pl.col("account_id").alias("node")).unique()


def transfers(txns: pl.DataFrame | pl.LazyFrame, /) -> pl.LazyFrame:
    """One row per money movement between two known accounts (schema `TRANSFER_COLUMNS`).

    Amounts are `amount_base` where present, else `amount`; postings without a counterparty
    account (cash, card at a merchant without id) are not edges.

    Args:
        txns: Canonical postings.

    Returns:
        A LazyFrame of transfers, deduplicated as described in the module docstring.
    """
    lf = txns.lazy()
    names = lf.collect_schema().names()
    amount = (
        pl.coalesce(pl.col("amount_base"), pl.col("amount"))
        if "amount_base" in names
        else pl.col("amount")
    )
    cpty = pl.col("counterparty_account_id") if "counterparty_account_id" in names else pl.lit(None)
    extra = [
        (pl.col(c) if c in names else pl.lit(None)).cast(pl.String()).alias(c) for c in _OPTIONAL
    ]
    base = lf.select(
        "txn_id",
        "account_id",
        "direction",
        "ts_utc",
        amount.cast(MONEY).alias("amount"),
        pl.col("channel").cast(pl.String()),
        cpty.cast(pl.String()).alias("cpty"),
        *extra,
    ).filter(pl.col("cpty").is_not_null())
    internal = internal_accounts(lf).collect().get_column("node").implode()
    outs = base.filter(pl.col("direction") == "out").with_columns(
        source=pl.col("account_id"), target=pl.col("cpty")
    )
    ins = base.filter((pl.col("direction") == "in") & ~pl.col("cpty").is_in(internal)).with_columns(
        source=pl.col("cpty"), target=pl.col("account_id")
    )
    return pl.concat([outs, ins]).select(list(TRANSFER_COLUMNS)).cast(TRANSFER_COLUMNS)  # type: ignore[arg-type]


def prune(edges: pl.LazyFrame, /, *, hygiene: Hygiene) -> pl.LazyFrame:
    """Apply §5 hygiene to a transfers frame: types, minimum amount and hub suppression.

    Args:
        edges: Transfers (`transfers()` output) or any frame with source, target, ts_utc,
            amount and counterparty_type.
        hygiene: The thresholds.

    Returns:
        The surviving transfers, lazily.
    """
    kept = edges.filter(
        (pl.col("amount") >= pl.lit(Decimal(str(hygiene.min_amount))).cast(MONEY))
        & ~pl.col("counterparty_type").fill_null("").is_in(list(hygiene.drop_counterparty_types))
        & (pl.col("source") != pl.col("target"))
    )
    if hygiene.hub_quantile is None:
        return kept
    hubs = _hubs(kept, hygiene=hygiene)
    return kept.join(hubs, left_on="source", right_on="node", how="anti").join(
        hubs, left_on="target", right_on="node", how="anti"
    )


class _Shared:
    """The pruned transfers of the last postings frame, per hygiene setting.

    Every graph rule of a scan stage runs on the same postings frame, and most share the §5
    hygiene, so the deduplication, the hub-degree quantile and the pruning run once per
    frame instead of once per rule. Keyed by the frame's identity (a weak reference: the
    entry goes when the frame does); a Polars DataFrame is immutable.
    """

    frame: weakref.ref[pl.DataFrame] | None = None
    pruned: dict[tuple[object, ...], pl.DataFrame] = {}  # noqa: RUF012

    @classmethod
    def get(cls, txns: pl.DataFrame, hygiene: Hygiene) -> pl.DataFrame:
        if cls.frame is None or cls.frame() is not txns:
            cls.frame, cls.pruned = weakref.ref(txns, cls._forget), {}
        key = astuple(hygiene)[: len(fields(Hygiene))]
        if key not in cls.pruned:
            cls.pruned[key] = prune(transfers(txns), hygiene=hygiene).collect()
        return cls.pruned[key]

    @classmethod
    def _forget(cls, ref: object) -> None:
        if cls.frame is ref:
            cls.frame, cls.pruned = None, {}


def pruned_transfers(txns: pl.DataFrame | pl.LazyFrame, /, *, hygiene: Hygiene) -> pl.LazyFrame:
    """`transfers` followed by `prune`: the edges every network pattern starts from.

    Materialised once (and handed back lazily): every pattern reads it several times, and a
    lazy plan would recompute the deduplication and hub suppression each time. For a
    DataFrame it is also shared between the patterns run on that same frame (`_Shared`).
    """
    if isinstance(txns, pl.DataFrame):
        return _Shared.get(txns, Hygiene(*astuple(hygiene)[: len(fields(Hygiene))])).lazy()
    return prune(transfers(txns), hygiene=hygiene).collect().lazy()


def _hubs(edges: pl.LazyFrame, *, hygiene: Hygiene) -> pl.LazyFrame:
    """Accounts whose in- or out-degree in some `hub_period` bucket is above the quantile."""
    bucket = pl.col("ts_utc").dt.truncate(f"{int(hygiene.hub_period.total_seconds())}s")
    degrees = []
    for node, other in (("source", "target"), ("target", "source")):
        degrees.append(
            edges.group_by(pl.col(node).alias("node"), bucket.alias("bucket")).agg(
                pl.col(other).n_unique().alias("degree")
            )
        )
    deg = pl.concat(degrees)
    limit = deg.select(pl.col("degree").quantile(hygiene.hub_quantile or 1.0)).collect().item()
    floor = max(float(limit or 0), float(hygiene.hub_min_degree))
    return deg.filter(pl.col("degree") > floor).select("node").unique()


def edge_table(transfers_: pl.LazyFrame, /) -> pl.LazyFrame:
    """Aggregate transfers into one edge per (source, target) (schema `EDGE_COLUMNS`).

    The total is an exact decimal sum; convert to float only after this.
    """
    return (
        transfers_.group_by("source", "target")
        .agg(
            pl.col("amount").sum().cast(TOTAL).alias("amount"),
            pl.len().cast(pl.UInt32()).alias("count"),
            pl.col("ts_utc").min().alias("first_ts"),
            pl.col("ts_utc").max().alias("last_ts"),
            pl.col("channel").drop_nulls().unique().sort().alias("channels"),
        )
        .select(list(EDGE_COLUMNS))
    )


def to_digraph(edges: pl.DataFrame, /) -> nx.DiGraph[str]:
    """A NetworkX DiGraph from an (already filtered) edge table.

    Edge attributes: `amount` (float, for algorithms), `amount_exact` (str), `count`,
    `first_ts`, `last_ts` (ISO strings) and `channels` (comma-joined).
    """
    graph: nx.DiGraph[str] = nx.DiGraph()
    for row in edges.iter_rows(named=True):
        graph.add_edge(
            row["source"],
            row["target"],
            amount=float(row["amount"]),
            amount_exact=str(row["amount"]),
            count=int(row["count"]),
            first_ts=row["first_ts"].isoformat(),
            last_ts=row["last_ts"].isoformat(),
            channels=",".join(row["channels"] or []),
        )
    return graph


def time_join(
    left: pl.LazyFrame,
    right: pl.LazyFrame,
    /,
    *,
    on: str,
    left_ts: str,
    right_ts: str,
    reach: timedelta,
) -> pl.LazyFrame:
    """Join on `on` where `|right_ts - left_ts| <= reach`, without the all-pairs blow-up.

    Both sides get a time bucket of width `reach`; the right side is joined to its own bucket
    and both neighbours, so only rows near in time are ever paired. The caller filters the
    exact interval it needs (strict order, half-open bounds) afterwards.
    """
    width = max(int(reach.total_seconds() * 1_000_000), 1)
    bucket = pl.col(left_ts).dt.epoch("us") // width
    right_bucket = pl.col(right_ts).dt.epoch("us") // width
    spread = pl.concat(
        [right.with_columns((right_bucket + k).alias("_bucket")) for k in (-1, 0, 1)]
    )
    return (
        left.with_columns(bucket.alias("_bucket"))
        .join(spread, on=[on, "_bucket"])
        .filter((pl.col(right_ts) - pl.col(left_ts)).abs() <= reach)
        .drop("_bucket")
    )


def forward_pairs(
    transfers_: pl.LazyFrame,
    /,
    *,
    max_hop_delay: timedelta,
    min_ratio: float | None = None,
    max_ratio: float | None = None,
) -> pl.LazyFrame:
    """Time-respecting two-hop pairs a -> m -> b of single transfers.

    The second hop is strictly after the first and within `max_hop_delay`; when given, its
    amount lies within [min_ratio, max_ratio] of the first hop's.

    Returns:
        Columns txn_1, txn_2, src, mid, dst, ts_1, ts_2, amount_1, amount_2.
    """
    first = transfers_.select(
        pl.col("txn_id").alias("txn_1"),
        pl.col("source").alias("src"),
        pl.col("target").alias("mid"),
        pl.col("ts_utc").alias("ts_1"),
        pl.col("amount").alias("amount_1"),
    )
    second = transfers_.select(
        pl.col("txn_id").alias("txn_2"),
        pl.col("source").alias("mid"),
        pl.col("target").alias("dst"),
        pl.col("ts_utc").alias("ts_2"),
        pl.col("amount").alias("amount_2"),
    )
    pairs = time_join(
        first, second, on="mid", left_ts="ts_1", right_ts="ts_2", reach=max_hop_delay
    ).filter(
        (pl.col("ts_2") > pl.col("ts_1"))
        & (pl.col("ts_2") - pl.col("ts_1") <= max_hop_delay)
        & (pl.col("dst") != pl.col("mid"))
    )
    ratio = pl.col("amount_2").cast(pl.Float64) / pl.col("amount_1").cast(pl.Float64)
    if min_ratio is not None:
        pairs = pairs.filter(ratio >= min_ratio)
    if max_ratio is not None:
        pairs = pairs.filter(ratio <= max_ratio)
    return pairs
