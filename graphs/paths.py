"""Path-shaped network patterns: cycle, scatter-gather, stack and chain (typologies.md §5).

All of them are time-respecting: each hop is strictly after the previous one, within
`max_hop_delay` where the typology gives one, and the motif fits in its window or span.
Candidate hops are joined in Polars (`build.forward_pairs`); NetworkX sees only the pruned
graph of one time window (cycles) or the small graph of qualifying hops (stack).

Entities: `cycle` one row per member; `scatter_gather` the source and the sink; `stack` one
row per first-layer originator; `chain` the account the path starts from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import networkx as nx
import polars as pl

from graphs.build import Hygiene, forward_pairs, pruned_transfers
from graphs.hits import GraphContext, empty_hits, finish_hits, to_float

__all__ = [
    "ChainParams",
    "CycleParams",
    "ScatterGatherParams",
    "StackParams",
    "chain",
    "cycle",
    "scatter_gather",
    "stack",
]


class _Hop(NamedTuple):
    ts: datetime
    amount: Decimal
    txn_id: str
    reference: str


@dataclass(frozen=True, slots=True)
class CycleParams(Hygiene):
    """ML-CYCLE-01 thresholds.

    Attributes:
        min_length: Shortest cycle; 2-cycles need `two_cycle_max_diff` and no loan or refund
            marking. [src] §5: 2-cycles conditional, 3-6 fire.
        max_length: `length_bound` of the enumeration. [src] §5: 6.
        span: The loop closes within this time. [src] §5: 30 d.
        max_hop_delay: Largest gap between consecutive hops; None: only `span`. [default]
        time_respecting: Strictly increasing timestamps around the loop. [src] §5: True.
        min_hop_ratio: Each hop's amount over the previous hop's, lower bound. [src] §5: 0.7.
        max_hop_ratio: Upper bound (non-increasing amounts). [src] §5: 1.0.
        two_cycle_max_diff: Relative amount difference allowed in a 2-cycle. [src] §5: 0.1.
        loan_pattern: Reference text that marks loans, repayments and refunds. [default]
        max_cycles: Cycles enumerated per window before giving up on it (guard). [default]
    """

    min_length: int = 2
    max_length: int = 6
    span: timedelta = timedelta(days=30)
    max_hop_delay: timedelta | None = None
    time_respecting: bool = True
    min_hop_ratio: float = 0.7
    max_hop_ratio: float = 1.0
    two_cycle_max_diff: float = 0.1
    loan_pattern: str = r"(?i)\b(loan|lend|lent|repay\w*|refund\w*|owed?)\b"
    max_cycles: int = 200_000


def cycle(txns: pl.DataFrame, /, *, params: CycleParams, context: GraphContext) -> pl.DataFrame:
    """ML-CYCLE-01: money that returns to where it started, hop by hop.

    The graph is built per window of length 2 x span sliding by span (so every loop closing
    within `span` lies wholly inside one window), pruned to nodes with both in- and
    out-edges, and split into strongly connected components for `nx.simple_cycles`.

    Entity: one row per cycle member.
    """
    edges = pruned_transfers(txns, hygiene=params).collect()
    if edges.is_empty():
        return empty_hits()
    loan = re.compile(params.loan_pattern)
    step = params.span
    origin = edges.get_column("ts_utc").min()
    assert isinstance(origin, datetime)
    end = edges.get_column("ts_utc").max()
    assert isinstance(end, datetime)
    rows: list[dict[str, object]] = []
    seen: set[frozenset[str]] = set()
    start = origin - timedelta(microseconds=1)
    while start < end:
        part = edges.filter((pl.col("ts_utc") > start) & (pl.col("ts_utc") <= start + 2 * step))
        start += step
        hops = _hops_by_edge(_core(part))
        if not hops:
            continue
        graph: nx.DiGraph[str] = nx.DiGraph(list(hops))
        for found in _cycles(graph, params=params):
            matched = _match(found, hops, params=params, loan=loan)
            if matched is None:
                continue
            rotation, match = matched
            found = found[rotation:] + found[:rotation]
            key = frozenset(h.txn_id for h in match)
            if key in seen:
                continue
            seen.add(key)
            first = min(h.ts for h in match)
            amounts = [float(h.amount) for h in match]
            for member in found:
                rows.append(
                    {
                        "entity": member,
                        "first_ts": first,
                        "last_ts": max(h.ts for h in match),
                        "evidence": sorted(key),
                        "length": len(found),
                        "cycle": ">".join(found),
                        "span_hours": (max(h.ts for h in match) - first).total_seconds() / 3600,
                        "total": sum(amounts),
                        "min_amount_ratio": min(amounts) / max(amounts),
                    }
                )
    if not rows:
        return empty_hits()
    return finish_hits(
        pl.DataFrame(rows),
        measures=["length", "cycle", "span_hours", "total", "min_amount_ratio"],
    )


def _core(edges: pl.DataFrame) -> pl.DataFrame:
    """Drop, repeatedly, edges whose source has no in-edge or whose target has no out-edge."""
    pairs = edges
    while True:
        links = pairs.select("source", "target").unique()
        kept = pairs.filter(
            pl.col("source").is_in(links.get_column("target").implode())
            & pl.col("target").is_in(links.get_column("source").implode())
        )
        if kept.height == pairs.height:
            return kept
        pairs = kept


def _hops_by_edge(edges: pl.DataFrame) -> dict[tuple[str, str], list[_Hop]]:
    hops: dict[tuple[str, str], list[_Hop]] = {}
    ordered = edges.sort("ts_utc").select(
        "source", "target", "ts_utc", "amount", "txn_id", pl.col("reference_text").fill_null("")
    )
    for source, target, ts, amount, txn_id, reference in ordered.iter_rows():
        hops.setdefault((source, target), []).append(_Hop(ts, amount, txn_id, reference))
    return hops


def _cycles(graph: nx.DiGraph[str], *, params: CycleParams) -> Iterator[list[str]]:
    budget = params.max_cycles
    for component in nx.strongly_connected_components(graph):
        if len(component) < max(2, params.min_length):
            continue
        sub = graph.subgraph(component)
        for found in nx.simple_cycles(sub, length_bound=params.max_length):
            if len(found) >= params.min_length:
                yield found
            budget -= 1
            if budget <= 0:
                return


def _match(
    nodes: Sequence[str],
    hops: dict[tuple[str, str], list[_Hop]],
    *,
    params: CycleParams,
    loan: re.Pattern[str],
) -> tuple[int, list[_Hop]] | None:
    """The rotation and one transfer per hop that make a qualifying money cycle, or None."""
    n = len(nodes)
    legs = [hops[(nodes[i], nodes[(i + 1) % n])] for i in range(n)]
    for rotation in range(n):
        order = legs[rotation:] + legs[:rotation]
        for first in order[0]:
            found = _extend([first], order, params=params)
            if found is not None and (n > 2 or _two_cycle_ok(found, params=params, loan=loan)):
                return rotation, found
    return None


def _extend(path: list[_Hop], legs: list[list[_Hop]], *, params: CycleParams) -> list[_Hop] | None:
    if len(path) == len(legs):
        return path
    prev, first = path[-1], path[0]
    for hop in legs[len(path)]:
        if params.time_respecting:
            if hop.ts <= prev.ts:
                continue
            if params.max_hop_delay is not None and hop.ts - prev.ts > params.max_hop_delay:
                break
        if hop.ts < first.ts or hop.ts - first.ts >= params.span:
            continue
        ratio = float(hop.amount) / float(prev.amount)
        if not params.min_hop_ratio <= ratio <= params.max_hop_ratio:
            continue
        found = _extend([*path, hop], legs, params=params)
        if found is not None:
            return found
    return None


def _two_cycle_ok(path: list[_Hop], *, params: CycleParams, loan: re.Pattern[str]) -> bool:
    a, b = (float(h.amount) for h in path)
    if abs(a - b) / max(a, b) >= params.two_cycle_max_diff:
        return False
    return not any(loan.search(h.reference) for h in path)


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
        relays.select(*keys, "first_ts")
        .join(edges.select(pl.col("source").alias("mid"), "target", "ts_utc"), on="mid")
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

    Entity: one row per first-layer originator.
    """
    edges = pruned_transfers(txns, hygiene=params)
    relays = (
        _relays(edges, window=params.window, max_hop_delay=params.max_hop_delay)
        .with_columns(
            (
                to_float(pl.col("sum_out").sum().over("mid", "ep"))
                / to_float(pl.col("sum_in").sum().over("mid", "ep"))
            ).alias("mid_share")
        )
        .collect()
    )
    relays = relays.filter(
        (pl.col("mid_share") >= params.min_pass_share)
        & (pl.col("mid_share") <= params.max_pass_share)
    )
    if relays.is_empty():
        return empty_hits()
    graph: nx.Graph[tuple[str, str]] = nx.Graph()
    for src, mid, dst in relays.select("src", "mid", "dst").iter_rows():
        graph.add_edge(("a", src), ("b", mid))
        graph.add_edge(("b", mid), ("c", dst))
    labels = [
        {"layer_b": node[1], "component": n}
        for n, component in enumerate(nx.connected_components(graph))
        for node in component
        if node[0] == "b"
    ]
    comp = pl.DataFrame(labels, schema={"layer_b": pl.String, "component": pl.Int64})
    joined = relays.join(comp, left_on="mid", right_on="layer_b")
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
