"""ML-CYCLE-01: money that returns to where it started (typologies.md §5).

Cycles are grown as paths of transfers in Polars, joined hop by hop on the path's head
account, until they close on their first account (at most `max_length` hops, simple: no
account twice). Every path starts at the earliest transfer of its cycle, so each cycle
instance is found exactly once and no rotation needs deduplicating.

- time-respecting (the default): each hop is at or after the previous one (`same_time_ok`,
  the default) or strictly after it (`same_time_ok=False`), within `max_hop_delay`, its amount
  within [min_hop_ratio, max_hop_ratio] of the previous hop's, and the loop closes within
  `span`. Ties count as in order because many feeds stamp transfers by booking day (AMLSim
  and day-granular core-banking extracts give every transfer of a day the same time), so a
  same-day round trip has no order to respect. Only an all-at-one-time loop has several
  valid starting hops; it is reported once (instances are deduplicated on their transfers).
- `time_respecting=False`, for data whose order within a motif cannot be trusted: the hops
  only have to fall within `span` after the first.

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
from typing import NamedTuple

import polars as pl

from graphs.build import Hygiene, pruned_transfers, time_join
from graphs.hits import GraphContext, empty_hits, finish_hits, to_float

__all__ = ["CycleParams", "cycle"]


@dataclass(frozen=True, slots=True)
class CycleParams(Hygiene):
    """ML-CYCLE-01 thresholds.

    Attributes:
        min_length: Shortest cycle; 2-cycles need `two_cycle_max_diff` and no loan or refund
            marking. [src] §5: 2-cycles conditional, 3-6 fire.
        max_length: `length_bound` of the search. [src] §5: 6.
        span: The loop closes within this time. [src] §5: 30 d.
        max_hop_delay: Largest gap between consecutive hops (time-respecting only); None:
            only `span`. [default]
        time_respecting: Timestamps ordered around the loop. [src] §5: True.
        same_time_ok: Tie semantics of that order: a hop at the same timestamp as the
            previous one is in order (True: non-decreasing, the §5 hygiene reading "each
            hop's timestamp comes after the previous hop's" at booking-day granularity) or not
            (False: strictly increasing, the ML-CYCLE-01 wording). [default] True.
        min_hop_ratio: Each hop's amount over the previous hop's, lower bound. [src] §5: 0.7.
        max_hop_ratio: Upper bound (non-increasing amounts). [src] §5: 1.0.
        two_cycle_max_diff: Relative amount difference allowed in a 2-cycle. [src] §5: 0.1.
        loan_pattern: Reference text that marks loans, repayments and refunds. [default]
    """

    min_length: int = 2
    max_length: int = 6
    span: timedelta = timedelta(days=30)
    max_hop_delay: timedelta | None = None
    time_respecting: bool = True
    same_time_ok: bool = True
    min_hop_ratio: float = 0.7
    max_hop_ratio: float = 1.0
    two_cycle_max_diff: float = 0.1
    loan_pattern: str = r"(?i)\b(loan|lend|lent|repay\w*|refund\w*|owed?)\b"


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
    if params.time_respecting:
        if params.max_hop_delay is not None:
            reach = min(reach, params.max_hop_delay)
        after = gap >= timedelta(0) if params.same_time_ok else gap > timedelta(0)
        timing = after & (gap <= reach) & (gap < params.span)
    else:
        timing = gap.abs() < params.span
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
    Otherwise: a hop only has to fall after the first transfer and within the span.
    """
    links = _links(edges, params=params)
    paths = edges.select(
        pl.concat_list("txn_id").alias("txns"),
        pl.concat_list("source").alias("nodes"),
        pl.col("target").alias("head"),
        pl.col("ts_utc").alias("first_ts"),
        pl.col("txn_id").alias("tail"),
    )
    # the first transfer of a path is the earliest of its cycle (with ties: one of the earliest)
    not_before = (
        pl.col("ts_2") >= pl.col("first_ts")
        if params.same_time_ok
        else pl.col("ts_2") > pl.col("first_ts")
    )
    closed: list[pl.DataFrame] = []
    for length in range(1, params.max_length + 1):
        is_closed = pl.col("head") == pl.col("nodes").list.first()
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
                    | (pl.col("dst") == pl.col("nodes").list.first())
                )
            )
            .select(
                pl.concat_list("txns", "txn_2").alias("txns"),
                pl.concat_list("nodes", "head").alias("nodes"),
                pl.col("dst").alias("head"),
                "first_ts",
                pl.col("txn_2").alias("tail"),
            )
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
    hops = {
        txn_id: _Hop(ts, amount, txn_id, reference or "")
        for txn_id, ts, amount, reference in edges.select(
            "txn_id", "ts_utc", "amount", "reference_text"
        ).iter_rows()
    }
    for txn_ids, nodes in found.iter_rows():
        yield list(nodes), [hops[t] for t in txn_ids]


def _two_cycle_ok(hops: list[_Hop], *, params: CycleParams, loan: re.Pattern[str]) -> bool:
    a, b = (float(h.amount) for h in hops)
    if abs(a - b) / max(a, b) >= params.two_cycle_max_diff:
        return False
    return not any(loan.search(h.reference) for h in hops)
