"""Money trail: where money went after it left an account (or where it came from).

A trail is a set of time-respecting paths of single transfers: each hop leaves the account the
previous hop reached, strictly after it and within `max_hop_delay` (backwards: arrives at the
account the previous hop left, strictly before it). Paths are grown in Polars, one join per
hop, over the deduplicated transfers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import polars as pl

from graphs.build import transfers

__all__ = ["Hop", "Path", "trail"]


@dataclass(frozen=True, slots=True)
class Hop:
    """One transfer of a trail."""

    txn_id: str
    source: str
    target: str
    ts_utc: datetime
    amount: Decimal
    channel: str | None


Path = tuple[Hop, ...]
"""Hops in the order the money moved (also for backward trails)."""


def trail(
    txns: pl.DataFrame,
    account: str,
    /,
    *,
    start: datetime,
    backward: bool = False,
    max_hops: int = 4,
    max_hop_delay: timedelta = timedelta(hours=48),
    min_amount: float = 0.0,
    max_paths: int = 10_000,
) -> list[Path]:
    """Time-respecting paths from (or, with `backward`, into) `account`.

    Args:
        txns: Canonical postings.
        account: The account the trail starts from (forward) or ends at (backward).
        start: Forward: first hops at or after this time. Backward: last hops at or before it.
        backward: Follow the money upstream instead of downstream.
        max_hops: Longest path.
        max_hop_delay: Largest gap between consecutive hops.
        min_amount: Ignore transfers below this base amount.
        max_paths: Stop growing once this many partial paths are open (a guard; the paths
            found so far are returned).

    Returns:
        Maximal paths (no returned path is a prefix of another), earliest first.
    """
    edges = transfers(txns).filter(pl.col("amount").cast(pl.Float64) >= min_amount).collect()
    near, far = ("target", "source") if backward else ("source", "target")
    first = edges.filter(
        (pl.col(near) == account)
        & ((pl.col("ts_utc") <= start) if backward else (pl.col("ts_utc") >= start))
    )
    frontier = first.select(
        pl.concat_list("txn_id").alias("txns"),
        pl.concat_list(pl.lit(account), pl.col(far)).alias("nodes"),
        pl.col(far).alias("head"),
        pl.col("ts_utc").alias("last_ts"),
    )
    step = edges.select(
        pl.col(near).alias("head"),
        pl.col(far).alias("next"),
        pl.col("txn_id").alias("txn"),
        pl.col("ts_utc").alias("ts"),
    )
    gap = (pl.col("last_ts") - pl.col("ts")) if backward else (pl.col("ts") - pl.col("last_ts"))
    done: list[pl.DataFrame] = []
    for _ in range(max_hops - 1):
        if frontier.is_empty():
            break
        grown = (
            frontier.join(step, on="head")
            .filter(
                (gap > timedelta(0))
                & (gap <= max_hop_delay)
                & ~pl.col("nodes").list.contains(pl.col("next"))
            )
            .select(
                pl.concat_list("txns", "txn").alias("txns"),
                pl.concat_list("nodes", "next").alias("nodes"),
                pl.col("next").alias("head"),
                pl.col("ts").alias("last_ts"),
            )
        )
        prefix = pl.col("txns").list.slice(0, pl.col("txns").list.len() - 1)
        extended = grown.select(prefix.list.join("|").alias("key")).unique()
        done.append(
            frontier.with_columns(pl.col("txns").list.join("|").alias("key"))
            .join(extended, on="key", how="anti")
            .drop("key")
        )
        frontier = grown
        if frontier.height > max_paths:
            break
    done.append(frontier)
    by_id = {
        row["txn_id"]: Hop(
            row["txn_id"],
            row["source"],
            row["target"],
            row["ts_utc"],
            row["amount"],
            row["channel"],
        )
        for row in edges.iter_rows(named=True)
    }
    paths: list[Path] = []
    for (ids,) in pl.concat(done).select("txns").iter_rows():
        hops = [by_id[t] for t in ids]
        paths.append(tuple(reversed(hops)) if backward else tuple(hops))
    return sorted(paths, key=lambda p: (p[0].ts_utc, [h.txn_id for h in p]))
