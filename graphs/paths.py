"""Path-shaped network patterns: scatter-gather, stack and chain (typologies.md §5).

All of them are time-respecting: each hop is strictly after the previous one and within
`max_hop_delay`, and the motif fits in its window. Candidate hops are joined in Polars
(`build.forward_pairs`); NetworkX sees only the small graph of qualifying hops (stack).

Entities: `scatter_gather` the source and the sink; `stack` one row per first-layer
originator; `chain` the account the path starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import networkx as nx
import polars as pl

from graphs.build import Hygiene, forward_pairs, pruned_transfers, time_join
from graphs.hits import GraphContext, empty_hits, finish_hits, to_float

__all__ = [
    "ChainParams",
    "ScatterGatherParams",
    "StackParams",
    "chain",
    "scatter_gather",
    "stack",
]


@dataclass(frozen=True, slots=True)
class ScatterGatherParams(Hygiene):
    """ML-SCATGATH-01 thresholds.

    Attributes:
        window: The whole motif S -> {I} -> T fits in it. [src] §5: 7 d.
        max_hop_delay: Each intermediary forwards within this delay. [src] §5: 48 h.
        min_intermediaries: k. [src] §5: 3.
        min_pass_share: Each intermediary forwards at least this share to T. [src] §5: 0.8.
        max_pass_share: ... and at most this share (a mule does not add money). [default] 1.0.
        max_intermediary_degree: Distinct receivers of an intermediary in the window ("little
            other activity"). [src] §5: 3.
    """

    window: timedelta = timedelta(days=7)
    max_hop_delay: timedelta = timedelta(hours=48)
    min_intermediaries: int = 3
    min_pass_share: float = 0.8
    max_pass_share: float = 1.0
    max_intermediary_degree: int = 3


def _relays(edges: pl.LazyFrame, *, window: timedelta, max_hop_delay: timedelta) -> pl.LazyFrame:
    """Per (src, mid, dst, episode): what mid received from src and forwarded to dst.

    Returns:
        src, mid, dst, first_ts, last_ts, sum_in, sum_out (exact), in_ids, out_ids.
    """
    pairs = forward_pairs(edges, max_hop_delay=max_hop_delay).filter(pl.col("src") != pl.col("dst"))
    gap = pl.col("ts_1").diff().over("src", "mid", "dst") > window
    per_in = pairs.sort("src", "mid", "dst", "ts_1").with_columns(
        gap.fill_null(False).cast(pl.UInt32()).cum_sum().over("src", "mid", "dst").alias("ep")
    )
    received = per_in.select("src", "mid", "dst", "ep", "txn_1", "amount_1", "ts_1").unique()
    sent = per_in.select("src", "mid", "dst", "ep", "txn_2", "amount_2", "ts_2").unique()
    keys = ["src", "mid", "dst", "ep"]
    return (
        received.group_by(keys)
        .agg(
            pl.col("amount_1").sum().alias("sum_in"),
            pl.col("ts_1").min().alias("first_ts"),
            pl.col("txn_1").alias("in_ids"),
        )
        .join(
            sent.group_by(keys).agg(
                pl.col("amount_2").sum().alias("sum_out"),
                pl.col("ts_2").max().alias("last_ts"),
                pl.col("txn_2").alias("out_ids"),
            ),
            on=keys,
        )
        .with_columns(
            (to_float(pl.col("sum_out")) / to_float(pl.col("sum_in"))).alias("pass_share")
        )
    )


def _out_degree(relays: pl.LazyFrame, edges: pl.LazyFrame, *, window: timedelta) -> pl.LazyFrame:
    """Distinct receivers of each relay's mid in `(first_ts, first_ts + window]`."""
    keys = ["src", "mid", "dst", "ep"]
    return (
        time_join(
            relays.select(*keys, "first_ts"),
            edges.select(pl.col("source").alias("mid"), "target", "ts_utc"),
            on="mid",
            left_ts="first_ts",
            right_ts="ts_utc",
            reach=window,
        )
        .filter(
            (pl.col("ts_utc") > pl.col("first_ts"))
            & (pl.col("ts_utc") <= pl.col("first_ts") + window)
        )
        .group_by(keys)
        .agg(pl.col("target").n_unique().alias("mid_out_degree"))
    )


def scatter_gather(
    txns: pl.DataFrame, /, *, params: ScatterGatherParams, context: GraphContext
) -> pl.DataFrame:
    """ML-SCATGATH-01: S splits money across k intermediaries who each forward it to T.

    Entity: two rows per motif, the source S and the sink T (`measures.role`).
    """
    edges = pruned_transfers(txns, hygiene=params)
    relays = _relays(edges, window=params.window, max_hop_delay=params.max_hop_delay)
    relays = relays.collect().lazy()
    relays = (
        relays.filter(
            (pl.col("pass_share") >= params.min_pass_share)
            & (pl.col("pass_share") <= params.max_pass_share)
        )
        .join(_out_degree(relays, edges, window=params.window), on=["src", "mid", "dst", "ep"])
        .filter(pl.col("mid_out_degree") <= params.max_intermediary_degree)
    )
    gap = pl.col("first_ts").diff().over("src", "dst") > params.window
    grouped = (
        relays.sort("src", "dst", "first_ts")
        .with_columns(
            gap.fill_null(False).cast(pl.UInt32()).cum_sum().over("src", "dst").alias("motif")
        )
        .group_by("src", "dst", "motif")
        .agg(
            pl.col("mid").n_unique().alias("n_intermediaries"),
            pl.col("mid").unique().sort().str.join(",").alias("intermediaries"),
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
            pl.concat_list("in_ids", "out_ids")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .alias("evidence"),
            to_float(pl.col("sum_in").sum()).alias("total_scattered"),
            to_float(pl.col("sum_out").sum()).alias("total_gathered"),
        )
        .filter(
            (pl.col("n_intermediaries") >= params.min_intermediaries)
            & (pl.col("last_ts") - pl.col("first_ts") < params.window)
        )
    )
    found = pl.concat(
        [
            grouped.with_columns(pl.col(end).alias("entity"), pl.lit(role).alias("role"))
            for end, role in (("src", "source"), ("dst", "sink"))
        ]
    ).rename({"src": "source", "dst": "sink"})
    return finish_hits(
        found,
        measures=[
            "role",
            "source",
            "sink",
            "n_intermediaries",
            "intermediaries",
            "total_scattered",
            "total_gathered",
        ],
        window=params.window,
    )


@dataclass(frozen=True, slots=True)
class StackParams(Hygiene):
    """ML-STACK-01 thresholds.

    Attributes:
        window: The layers fit in it. [src] §5: 14 d.
        max_hop_delay: Middle-layer forwarding delay. [src] §5: 48 h.
        min_pass_share: Middle-layer forwarding share. [src] §5: 0.8.
        max_pass_share: Upper bound of it. [default] 1.0.
        min_first: Originators of the first layer. [src] §5 via ML-BIPART-01: 2.
        min_middle: Middle layer size. [src] §5 via ML-BIPART-01: 3.
        min_last: Final layer size. [default] 2.
        min_density: Edge density of each layer. [src] §5 via ML-BIPART-01: 0.6.
    """

    window: timedelta = timedelta(days=14)
    max_hop_delay: timedelta = timedelta(hours=48)
    min_pass_share: float = 0.8
    max_pass_share: float = 1.0
    min_first: int = 2
    min_middle: int = 3
    min_last: int = 2
    min_density: float = 0.6


def stack(txns: pl.DataFrame, /, *, params: StackParams, context: GraphContext) -> pl.DataFrame:
    """ML-STACK-01: layers A -> B -> C where the middle layer forwards what it gets.

    Relays (src -> mid -> dst within `max_hop_delay`) are grouped in time first: relays that
    share an account are linked, and each linked group is cut into spans of at most `window`
    (greedily from its earliest relay). Forwarding shares, layers and densities are measured
    within one span, never across all time, so relays months apart through the same accounts
    neither join a stack nor hide one.

    Entity: one row per first-layer originator.
    """
    edges = pruned_transfers(txns, hygiene=params)
    relays = (
        _relays(edges, window=params.window, max_hop_delay=params.max_hop_delay)
        .with_row_index("_relay")
        .collect()
    )
    if relays.is_empty():
        return empty_hits()
    relays = relays.join(_spans(relays, window=params.window), on="_relay")
    relays = relays.with_columns(
        (
            to_float(pl.col("sum_out").sum().over("mid", "span"))
            / to_float(pl.col("sum_in").sum().over("mid", "span"))
        ).alias("mid_share")
    ).filter(
        (pl.col("mid_share") >= params.min_pass_share)
        & (pl.col("mid_share") <= params.max_pass_share)
    )
    if relays.is_empty():
        return empty_hits()
    joined = relays.join(_components(relays, by="span"), on="_relay")
    found = (
        joined.group_by("component")
        .agg(
            pl.col("src").unique().alias("first_layer"),
            pl.col("src").n_unique().alias("n_first"),
            pl.col("mid").n_unique().alias("n_middle"),
            pl.col("dst").n_unique().alias("n_last"),
            pl.struct("src", "mid").n_unique().alias("links_1"),
            pl.struct("mid", "dst").n_unique().alias("links_2"),
            pl.col("first_ts").min(),
            pl.col("last_ts").max(),
            pl.concat_list("in_ids", "out_ids")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .alias("evidence"),
        )
        .with_columns(
            (pl.col("links_1") / (pl.col("n_first") * pl.col("n_middle"))).alias("density_1"),
            (pl.col("links_2") / (pl.col("n_middle") * pl.col("n_last"))).alias("density_2"),
        )
        .filter(
            (pl.col("n_first") >= params.min_first)
            & (pl.col("n_middle") >= params.min_middle)
            & (pl.col("n_last") >= params.min_last)
            & (pl.col("density_1") >= params.min_density)
            & (pl.col("density_2") >= params.min_density)
            & (pl.col("last_ts") - pl.col("first_ts") < params.window)
        )
        .explode("first_layer")
        .rename({"first_layer": "entity"})
    )
    return finish_hits(
        found,
        measures=["n_first", "n_middle", "n_last", "density_1", "density_2"],
        window=params.window,
    )


def _components(relays: pl.DataFrame, *, by: str | None = None) -> pl.DataFrame:
    """`_relay` -> `component`: relays linked through a shared middle account (A-B-C layers),
    within one value of `by` when given."""
    graph: nx.Graph[tuple[str, ...]] = nx.Graph()
    cols = ["_relay", "src", "mid", "dst"] + ([by] if by else [])
    for row in relays.select(cols).iter_rows():
        relay, src, mid, dst = row[:4]
        group = tuple(str(v) for v in row[4:])
        graph.add_edge(("r", str(relay)), ("a", src, *group))
        graph.add_edge(("r", str(relay)), ("b", mid, *group))
        graph.add_edge(("r", str(relay)), ("c", dst, *group))
    rows = [
        {"_relay": int(node[1]), "component": n}
        for n, component in enumerate(nx.connected_components(graph))
        for node in component
        if node[0] == "r"
    ]
    return pl.DataFrame(rows, schema={"_relay": pl.UInt32, "component": pl.Int64})


def _spans(relays: pl.DataFrame, *, window: timedelta) -> pl.DataFrame:
    """`_relay` -> `span`: each group of linked relays cut into spans of at most `window`,
    greedily from its earliest relay (a relay belongs to the span its first inflow falls in)."""
    comp = _components(relays)
    ordered = (
        relays.select("_relay", "first_ts").join(comp, on="_relay").sort("component", "first_ts")
    )
    rows: list[tuple[int, str]] = []
    current: tuple[int, datetime] | None = None
    for relay, ts, component in ordered.iter_rows():
        if current is None or current[0] != component or ts - current[1] >= window:
            current = (component, ts)
        rows.append((relay, f"{component}@{current[1].isoformat()}"))
    return pl.DataFrame(rows, schema={"_relay": pl.UInt32, "span": pl.String}, orient="row")


@dataclass(frozen=True, slots=True)
class ChainParams(Hygiene):
    """ML-RANDOM-01 thresholds (layering chain).

    Attributes:
        window: The whole path fits in it. [src] §5: 14 d.
        max_hop_delay: Between consecutive hops. [src] §5: 48 h.
        min_hops: Transfers in the path. [src] §5: 3.
        max_hops: Longest path searched. [default] 6.
        min_pass_share: Each hop's amount over the previous one, lower bound. [src] §5: 0.8.
        max_pass_share: Upper bound (non-increasing amounts). [src] §5: 1.0.
        max_other_cpty: Other counterparties of an intermediate in the window. [src] §5: 3.
    """

    window: timedelta = timedelta(days=14)
    max_hop_delay: timedelta = timedelta(hours=48)
    min_hops: int = 3
    max_hops: int = 6
    min_pass_share: float = 0.8
    max_pass_share: float = 1.0
    max_other_cpty: int = 3


def chain(txns: pl.DataFrame, /, *, params: ChainParams, context: GraphContext) -> pl.DataFrame:
    """ML-RANDOM-01: a time-respecting pass-through path of several hops.

    Entity: the account the path starts from. Only maximal paths are reported.
    """
    edges = pruned_transfers(txns, hygiene=params)
    links = forward_pairs(
        edges,
        max_hop_delay=params.max_hop_delay,
        min_ratio=params.min_pass_share,
        max_ratio=params.max_pass_share,
    ).filter(pl.col("src") != pl.col("dst"))
    half = params.window / 2
    busy = (
        links.select("txn_1", "mid", "ts_1", "src", "dst")
        .join(
            pl.concat(
                [
                    edges.select(
                        pl.col("source").alias("mid"), pl.col("target").alias("other"), "ts_utc"
                    ),
                    edges.select(
                        pl.col("target").alias("mid"), pl.col("source").alias("other"), "ts_utc"
                    ),
                ]
            ),
            on="mid",
        )
        .filter(
            (pl.col("ts_utc") > pl.col("ts_1") - half)
            & (pl.col("ts_utc") <= pl.col("ts_1") + half)
            & (pl.col("other") != pl.col("src"))
            & (pl.col("other") != pl.col("dst"))
        )
        .group_by("txn_1", "mid")
        .agg(pl.col("other").n_unique().alias("n_other"))
        .filter(pl.col("n_other") > params.max_other_cpty)
    )
    kept = links.join(busy, on=["txn_1", "mid"], how="anti").collect()
    if kept.is_empty():
        return empty_hits()
    paths = kept.select(
        pl.concat_list("txn_1", "txn_2").alias("txns"),
        pl.concat_list("src", "mid", "dst").alias("nodes"),
        pl.col("ts_1").alias("first_ts"),
        pl.col("ts_2").alias("last_ts"),
        pl.col("txn_2").alias("tail"),
        to_float(pl.col("amount_1")).alias("first_amount"),
        to_float(pl.col("amount_2")).alias("last_amount"),
    )
    found: list[pl.DataFrame] = [paths]
    step = kept.select("txn_1", "txn_2", "dst", "ts_2", "amount_2")
    for _ in range(params.max_hops - 2):
        longer = (
            paths.join(step, left_on="tail", right_on="txn_1")
            .filter(
                ~pl.col("nodes").list.contains(pl.col("dst"))
                & (pl.col("ts_2") - pl.col("first_ts") < params.window)
            )
            .select(
                pl.concat_list("txns", pl.col("txn_2")).alias("txns"),
                pl.concat_list("nodes", pl.col("dst")).alias("nodes"),
                "first_ts",
                pl.col("ts_2").alias("last_ts"),
                pl.col("txn_2").alias("tail"),
                "first_amount",
                to_float(pl.col("amount_2")).alias("last_amount"),
            )
        )
        if longer.is_empty():
            break
        found.append(longer)
        paths = longer
    every = pl.concat(found).filter(pl.col("txns").list.len() >= params.min_hops)
    maximal = _maximal(every)
    out = maximal.select(
        pl.col("nodes").list.first().alias("entity"),
        "first_ts",
        "last_ts",
        pl.col("txns").alias("evidence"),
        (pl.col("txns").list.len()).alias("hops"),
        pl.col("nodes").list.join(">").alias("path"),
        (pl.col("last_amount") / pl.col("first_amount")).alias("kept_share"),
        pl.col("first_amount"),
    )
    return finish_hits(
        out, measures=["hops", "path", "kept_share", "first_amount"], window=params.window
    )


def _maximal(paths: pl.DataFrame) -> pl.DataFrame:
    """Drop every path that is the prefix or suffix of a longer path in the frame."""
    keyed = paths.with_columns(pl.col("txns").list.join("|").alias("key"))
    longer = keyed.filter(pl.col("txns").list.len() > 1)
    covered = pl.concat(
        [
            longer.select(
                pl.col("txns")
                .list.slice(0, pl.col("txns").list.len() - 1)
                .list.join("|")
                .alias("key")
            ),
            longer.select(pl.col("txns").list.slice(1).list.join("|").alias("key")),
        ]
    ).unique()
    return keyed.join(covered, on="key", how="anti").drop("key")
