"""ML-CYCLE-01: money that returns to where it started (typologies.md §5).

Cycles are grown as paths of transfers in Polars, joined hop by hop on the path's head
account, until they close on their first account (at most `max_length` hops, simple: no
account twice). Every path starts at the earliest transfer of its cycle, so each cycle
instance is found exactly once and no rotation needs deduplicating.

`time_order` says how the hops must follow each other in time:

- `same_time_ok` (the default, time-respecting): each hop is at or after the previous one,
  within `max_hop_delay`, its amount within [min_hop_ratio, max_hop_ratio] of the previous
  hop's, and the loop closes within `span`. Ties count as in order because many feeds stamp
  transfers by booking day (AMLSim and day-granular core-banking extracts give every transfer
  of a day the same time), so a same-day round trip has no order to respect. Only an
  all-at-one-time loop has several valid starting hops; it is reported once (instances are
  deduplicated on their transfers).
- `strict` (time-respecting): as above, each hop strictly after the previous one (the
  ML-CYCLE-01 wording "strictly increasing timestamps").
- `none`: a closed loop of transfers within `span`, hop order ignored: every hop falls within
  `span` after the loop's earliest transfer, in any order (`max_hop_delay` does not apply; the
  amount ratios are read around the loop from that earliest transfer). Only for generators that
  do not schedule a loop's hops in order (AMLSim draws each hop's step at random, see
  graphs/README.md); never the bank default: money cannot leave an account before it arrived
  there, so an unordered loop on real data is mostly unrelated transfers that happen to close.

A path search, not `nx.simple_cycles` over static windows: on AMLSim 10K the static search
enumerated millions of node cycles that no transfer order could realise (minutes per run);
the tests keep `nx.simple_cycles` as the naive reference this search must agree with.

Entity: one row per cycle member (the evidence and measures name the whole cycle).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, NamedTuple, get_args

import networkx as nx
import polars as pl

from graphs.build import Hygiene, pruned_transfers, time_join
from graphs.hits import GraphContext, empty_hits, finish_hits, to_float

__all__ = ["TIME_ORDERS", "CycleParams", "TimeOrder", "cycle"]

TimeOrder = Literal["strict", "same_time_ok", "none"]
TIME_ORDERS: tuple[str, ...] = get_args(TimeOrder)


@dataclass(frozen=True, slots=True)
class CycleParams(Hygiene):
    """ML-CYCLE-01 thresholds.

    Attributes:
        min_length: Shortest cycle; 2-cycles need `two_cycle_max_diff` and no loan or refund
            marking. [src] §5: 2-cycles conditional, 3-6 fire.
        max_length: `length_bound` of the search. [src] §5: 6.
        span: The loop closes within this time. [src] §5: 30 d.
        max_hop_delay: Largest gap between consecutive hops (time-respecting orders only);
            None: only `span`. [default]
        time_order: How hops follow each other around the loop (`TIME_ORDERS`):
            `same_time_ok`, non-decreasing timestamps (the §5 hygiene reading "each hop's
            timestamp comes after the previous hop's" at booking-day granularity);
            `strict`, strictly increasing (the ML-CYCLE-01 wording); `none`, hop order
            ignored, only the span counts (for generators that do not schedule hops in order,
            such as AMLSim; never a bank default). [src] §5: time-respecting; [default]
            `same_time_ok` for the ties.
        min_hop_ratio: Each hop's amount over the previous hop's, lower bound. [src] §5: 0.7.
        max_hop_ratio: Upper bound (non-increasing amounts). [src] §5: 1.0.
        two_cycle_max_diff: Relative amount difference allowed in a 2-cycle. [src] §5: 0.1.
        loan_pattern: Reference text that marks loans, repayments and refunds. [default]
    """

    min_length: int = 2
    max_length: int = 6
    span: timedelta = timedelta(days=30)
    max_hop_delay: timedelta | None = None
    time_order: TimeOrder = "same_time_ok"
    min_hop_ratio: float = 0.7
    max_hop_ratio: float = 1.0
    two_cycle_max_diff: float = 0.1
    loan_pattern: str = r"(?i)\b(loan|lend|lent|repay\w*|refund\w*|owed?)\b"

    def __post_init__(self) -> None:
        if self.time_order not in TIME_ORDERS:
            raise ValueError(
                f"time_order must be one of {', '.join(TIME_ORDERS)}, not {self.time_order!r}"
            )


class _Hop(NamedTuple):
    ts: datetime
    amount: Decimal
    txn_id: str
    reference: str


Found = tuple[list[str], list[_Hop]]


def cycle(txns: pl.DataFrame, /, *, params: CycleParams, context: GraphContext) -> pl.DataFrame:
    """ML-CYCLE-01 on the hygiene-pruned transfers (see the module docstring).

    Entity: one row per cycle member.
    """
    edges = pruned_transfers(txns, hygiene=params).collect()
    if edges.is_empty():
        return empty_hits()
    loan = re.compile(params.loan_pattern)
    rows: list[dict[str, object]] = []
    for nodes, hops in _search(edges, params=params):
        if len(nodes) == 2 and not _two_cycle_ok(hops, params=params, loan=loan):
            continue
        first, last = min(h.ts for h in hops), max(h.ts for h in hops)
        amounts = [float(h.amount) for h in hops]
        rows.extend(
            {
                "entity": member,
                "first_ts": first,
                "last_ts": last,
                "evidence": [h.txn_id for h in hops],
                "length": len(nodes),
                "cycle": ">".join(nodes),
                "span_hours": (last - first).total_seconds() / 3600,
                "total": sum(amounts),
                "min_amount_ratio": min(amounts) / max(amounts),
            }
            for member in nodes
        )
    if not rows:
        return empty_hits()
    return finish_hits(
        pl.DataFrame(rows),
        measures=["length", "cycle", "span_hours", "total", "min_amount_ratio"],
    )


def _links(edges: pl.DataFrame, *, params: CycleParams) -> pl.DataFrame:
    """Admissible consecutive hops (txn_1 then txn_2 out of txn_1's target), joined once."""
    first = edges.lazy().select(
        pl.col("txn_id").alias("txn_1"),
        pl.col("target").alias("mid"),
        pl.col("ts_utc").alias("ts_1"),
        pl.col("amount").alias("amount_1"),
    )
    second = edges.lazy().select(
        pl.col("txn_id").alias("txn_2"),
        pl.col("source").alias("mid"),
        pl.col("target").alias("dst"),
        pl.col("ts_utc").alias("ts_2"),
        pl.col("amount").alias("amount_2"),
    )
    gap = pl.col("ts_2") - pl.col("ts_1")
    reach = params.span
    if params.time_order == "none":
        timing = gap.abs() < params.span
    else:
        if params.max_hop_delay is not None:
            reach = min(reach, params.max_hop_delay)
        after = gap > timedelta(0) if params.time_order == "strict" else gap >= timedelta(0)
        timing = after & (gap <= reach) & (gap < params.span)
    ratio = to_float(pl.col("amount_2")) / to_float(pl.col("amount_1"))
    return (
        time_join(first, second, on="mid", left_ts="ts_1", right_ts="ts_2", reach=reach)
        .filter(
            timing
            & (ratio >= params.min_hop_ratio)
            & (ratio <= params.max_hop_ratio)
            & (pl.col("txn_1") != pl.col("txn_2"))
        )
        .select("txn_1", "txn_2", "dst", "ts_2")
        .collect()
    )


def _search(edges: pl.DataFrame, *, params: CycleParams) -> Iterator[Found]:
    """Cycles grown as paths in Polars from each transfer, taken as the earliest of its cycle.

    Time-respecting: each hop is an admissible successor of the previous transfer.
    `none`: a hop only has to fall at or after the first transfer and within the span; the
    search is then pruned to loops that can still close (`_closable`).
    Accounts and transfers are numbered (UInt32) while paths grow, and named again at the end.
    """
    nodes_ix = (
        pl.concat([edges.get_column("source"), edges.get_column("target")])
        .unique()
        .sort()
        .to_frame("name")
        .with_row_index("node")
    )
    coded = (
        edges.with_row_index("row")
        .join(nodes_ix.rename({"name": "source", "node": "s"}), on="source")
        .join(nodes_ix.rename({"name": "target", "node": "d"}), on="target")
        .select(
            pl.col("row").alias("txn_id"),
            pl.col("s").alias("source"),
            pl.col("d").alias("target"),
            "ts_utc",
            "amount",
        )
        .sort("txn_id")
    )
    distances: pl.DataFrame | None = None
    width = max(int(params.span.total_seconds() * 1_000_000), 1)
    if params.time_order == "none":
        coded, distances = _closable(coded, width=width, params=params)
    links = _links(coded, params=params)
    paths = coded.select(
        pl.concat_list("txn_id").alias("txns"),
        pl.concat_list("source").alias("nodes"),
        pl.col("source").alias("start"),
        pl.col("target").alias("head"),
        pl.col("ts_utc").alias("first_ts"),
        (pl.col("ts_utc").dt.epoch("us") // width).alias("window"),
        pl.col("txn_id").alias("tail"),
    )
    # the first transfer of a path is the earliest of its cycle (with ties: one of the earliest)
    not_before = (
        pl.col("ts_2") > pl.col("first_ts")
        if params.time_order == "strict"
        else pl.col("ts_2") >= pl.col("first_ts")
    )
    closed: list[pl.DataFrame] = []
    for length in range(1, params.max_length + 1):
        is_closed = pl.col("head") == pl.col("start")
        if length >= max(2, params.min_length):
            closed.append(paths.filter(is_closed).select("txns", "nodes"))
        if length == params.max_length:
            break
        paths = (
            paths.filter(~is_closed)
            .join(links, left_on="tail", right_on="txn_1")
            .filter(
                not_before
                & (pl.col("ts_2") - pl.col("first_ts") < params.span)
                & (
                    ~pl.col("nodes").list.contains(pl.col("dst"))
                    | (pl.col("dst") == pl.col("start"))
                )
            )
            .select(
                pl.concat_list("txns", "txn_2").alias("txns"),
                pl.concat_list("nodes", "head").alias("nodes"),
                "start",
                pl.col("dst").alias("head"),
                "first_ts",
                "window",
                pl.col("txn_2").alias("tail"),
            )
        )
        remaining = params.max_length - length - 1
        if distances is not None and remaining < _REACH_CUTOFF:
            # keep a path only if its head can still get back to its start in the hops left
            paths = paths.join(
                distances.filter(pl.col("hops") <= remaining),
                left_on=["window", "head", "start"],
                right_on=["window", "source", "target"],
                how="semi",
            )
        if paths.is_empty():
            break
    found = pl.concat(closed) if closed else pl.DataFrame()
    if found.is_empty():
        return
    # a loop whose earliest hops share a timestamp is grown from each of them: keep one
    found = (
        found.with_columns(pl.col("txns").list.sort().alias("_key"))
        .unique("_key", keep="first", maintain_order=True)
        .select("txns", "nodes")
    )
    names = nodes_ix.get_column("name").to_list()
    hops = [
        _Hop(ts, amount, txn_id, reference or "")
        for txn_id, ts, amount, reference in edges.select(
            "txn_id", "ts_utc", "amount", "reference_text"
        ).iter_rows()
    ]
    for txn_ix, node_ix in found.iter_rows():
        yield [names[n] for n in node_ix], [hops[t] for t in txn_ix]


# `none` prunes a path whose head is more than this many hops (minus one) from its start
_REACH_CUTOFF = 5


def _closable(
    coded: pl.DataFrame, *, width: int, params: CycleParams
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`none`: the transfers that can lie on a loop, and how far each account is from the others.

    A loop within `span` that opens in span-long bucket k lies in the graph of buckets k and
    k + 1 (window k), inside one strongly connected component of it. Transfers in no such
    component of either window they belong to are dropped, and `hops` is the length of the
    shortest path from `source` to `target` within window `window` (up to `_REACH_CUTOFF - 1`
    hops), so a path whose head is further from its start than the hops it has left is dropped.
    Exact (a window holds every hop of the loops opening in it); without it an unordered
    search of 8-10 hops does not fit in memory on AMLSim's 10K run.
    """
    bucket = coded.with_columns((pl.col("ts_utc").dt.epoch("us") // width).alias("bucket"))
    keep: list[int] = []
    rows: list[tuple[int, int, int, int]] = []
    low, high = bucket.select(pl.col("bucket").min().alias("low"), pl.col("bucket").max()).row(0)
    for k in range(low, high + 1):
        sub = bucket.filter(pl.col("bucket").is_between(k, k + 1))
        graph: nx.DiGraph[int] = nx.DiGraph(sub.select("source", "target").unique().iter_rows())
        component: dict[int, int] = {}
        for i, members in enumerate(nx.strongly_connected_components(graph)):
            if len(members) < 2:
                continue
            component.update(dict.fromkeys(members, i))
            reverse = graph.subgraph(members).reverse(copy=False)
            for target in members:
                for source, hops in nx.single_source_shortest_path_length(
                    reverse, target, cutoff=min(_REACH_CUTOFF - 1, params.max_length - 1)
                ).items():
                    rows.append((k, source, target, hops))
        keep.extend(
            txn
            for txn, source, target in sub.select("txn_id", "source", "target").iter_rows()
            if source in component and component.get(target) == component[source]
        )
    kept = coded.filter(pl.col("txn_id").is_in(pl.Series(keep, dtype=pl.UInt32).implode()))
    distances = pl.DataFrame(
        rows,
        schema={"window": pl.Int64, "source": pl.UInt32, "target": pl.UInt32, "hops": pl.Int64},
        orient="row",
    )
    return kept, distances


def _two_cycle_ok(hops: list[_Hop], *, params: CycleParams, loan: re.Pattern[str]) -> bool:
    a, b = (float(h.amount) for h in hops)
    if abs(a - b) / max(a, b) >= params.two_cycle_max_diff:
        return False
    return not any(loan.search(h.reference) for h in hops)
